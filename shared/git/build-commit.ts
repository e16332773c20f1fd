import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../log/logger.ts";
import type { TreeMode } from "./list-tree.ts";
import { runGit } from "./run-git.ts";

/** One path of the new commit: a blob with its mode, or gone. */
export type TreeChange =
  | { path: string; mode: Exclude<TreeMode, "160000">; sha: string }
  | { path: string; deleted: true };

export interface BuildCommitOptions {
  /** The trusted repository (work tree not used; its git directory is `<dir>/.git`). */
  dir: string;
  /** The commit the change is made against. */
  base: string;
  changes: readonly TreeChange[];
  message: string;
  timeoutMs?: number;
  logger?: Logger;
}

/**
 * A commit of exactly these changes on top of `base`, built from objects alone: a temporary
 * index read from the base tree, the changes set in it, the tree written, the commit made.
 * No work tree is read, so no file anyone else could write takes part. Returns its sha.
 */
export async function buildCommit(options: BuildCommitOptions): Promise<string> {
  const index = join(options.dir, ".git", "leviathan-commit-index");
  const call = {
    dir: options.dir,
    timeoutMs: options.timeoutMs,
    logger: options.logger,
    env: { GIT_INDEX_FILE: index },
  };
  await rm(index, { force: true });
  try {
    await runGit(["read-tree", options.base], call);
    const removed = options.changes.filter((change) => "deleted" in change).map((c) => c.path);
    const set = options.changes.flatMap((change) =>
      "deleted" in change ? [] : ["--cacheinfo", `${change.mode},${change.sha},${change.path}`],
    );
    // In batches, so a large change never meets the limit on a command line.
    for (const batch of chunks(set, 2_000)) await runGit(["update-index", "--add", ...batch], call);
    for (const batch of chunks(removed, 1_000)) {
      await runGit(["update-index", "--force-remove", "--", ...batch], call);
    }
    const tree = (await runGit(["write-tree"], call)).trim();
    const commit = await runGit(
      ["commit-tree", tree, "-p", options.base, "-m", options.message],
      call,
    );
    return commit.trim();
  } finally {
    await rm(index, { force: true });
  }
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
