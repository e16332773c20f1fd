import type { Logger } from "../log/logger.ts";
import { runGit } from "./run-git.ts";

/** Git's file modes: a file, an executable file, a symbolic link, a submodule. */
export type TreeMode = "100644" | "100755" | "120000" | "160000";

export interface TreeEntry {
  mode: TreeMode;
  /** The object's name (a blob, or the submodule's commit). */
  sha: string;
  /** The blob's size in bytes; null for a submodule. */
  size: number | null;
}

/**
 * Every file of a commit's tree, recursively, by repository-relative path: `git ls-tree -r -l
 * -z --full-tree`. A Map, so a file named `__proto__` counts like any other.
 */
export async function listTree(
  dir: string,
  commit: string,
  options: { timeoutMs?: number; logger?: Logger } = {},
): Promise<Map<string, TreeEntry>> {
  const out = await runGit(["ls-tree", "-r", "-l", "-z", "--full-tree", commit], {
    dir,
    timeoutMs: options.timeoutMs,
    logger: options.logger,
  });
  return parseLsTree(out);
}

/** `<mode> SP <type> SP <object> SP+ <size> TAB <path>` records, NUL-separated. */
export function parseLsTree(output: string): Map<string, TreeEntry> {
  const entries = new Map<string, TreeEntry>();
  for (const record of output.split("\0")) {
    if (record === "") continue;
    const tab = record.indexOf("\t");
    const match = /^(\d{6}) (\w+) ([0-9a-f]{40,64}) +(-|\d+)$/.exec(record.slice(0, tab));
    if (tab === -1 || !match) {
      throw new Error(`unexpected git ls-tree record ${JSON.stringify(record.slice(0, 80))}`);
    }
    const [, mode, , sha, size] = match as unknown as [string, string, string, string, string];
    if (!isTreeMode(mode)) throw new Error(`unexpected file mode ${mode} in git ls-tree`);
    entries.set(record.slice(tab + 1), {
      mode,
      sha,
      size: size === "-" ? null : Number(size),
    });
  }
  return entries;
}

function isTreeMode(mode: string): mode is TreeMode {
  return mode === "100644" || mode === "100755" || mode === "120000" || mode === "160000";
}
