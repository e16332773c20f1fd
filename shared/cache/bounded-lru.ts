/**
 * A map bounded by the summed cost of what it keeps (bytes, or 1 each to bound a count): past
 * the limit the least recently used entries go first. Map order is the recency: a hit moves its
 * entry to the end. Every cache the process keeps for its lifetime is one of these.
 */
export class BoundedLru<V> {
  private readonly entries = new Map<string, { value: V; cost: number }>();
  private total = 0;

  /** `maxEntryCost`: an entry costing more than this is not kept at all (default: the limit). */
  constructor(
    private readonly limit: number,
    private readonly maxEntryCost = limit,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Keeps `value` under `key` (replacing what was there); false when it costs too much to keep. */
  set(key: string, value: V, cost: number): boolean {
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.total -= old.cost;
    }
    if (cost > this.maxEntryCost) return false;
    this.entries.set(key, { value, cost });
    this.total += cost;
    for (const [oldest, entry] of this.entries) {
      if (this.total <= this.limit) break;
      this.entries.delete(oldest);
      this.total -= entry.cost;
    }
    return true;
  }
}
