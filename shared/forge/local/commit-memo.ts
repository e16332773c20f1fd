/**
 * Answers that depend only on commit ids (a PR's counts, whether head merges into base,
 * ancestry) never change, so each is worked out once: a list or re-read of the same PRs costs
 * no git processes. So do answers keyed by a repository's refs generation (a file's listing at
 * a branch). Bounded; the oldest answers go first. A failed computation is not kept.
 */
export interface CommitMemo {
  remember<T>(key: string, compute: () => Promise<T>): Promise<T>;
}

export const DEFAULT_MEMO_ENTRIES = 5_000;

export function createCommitMemo(limit = DEFAULT_MEMO_ENTRIES): CommitMemo {
  const entries = new Map<string, Promise<unknown>>();
  return {
    remember<T>(key: string, compute: () => Promise<T>): Promise<T> {
      const known = entries.get(key);
      if (known) {
        // Map order is insertion order: re-inserting marks the entry as recently used.
        entries.delete(key);
        entries.set(key, known);
        return known as Promise<T>;
      }
      const pending = compute();
      entries.set(key, pending);
      pending.catch(() => entries.delete(key));
      if (entries.size > limit) {
        const oldest = entries.keys().next().value;
        if (oldest !== undefined) entries.delete(oldest);
      }
      return pending;
    },
  };
}
