import type { BigIntStats } from "node:fs";
import { lstatSync, readdirSync } from "node:fs";
import { readlink } from "node:fs/promises";
import { join } from "node:path";
import type { TreeEntry, TreeMode } from "../../git/list-tree.ts";
import { blobSha } from "../../git/write-blob.ts";
import { type FileStamp, matchesStamp } from "./materialize-checkout.ts";
import { readFileExactly } from "./read-file-exactly.ts";

/** What is at a path of the executor's checkout now. */
export interface FoundEntry {
  type: "file" | "symlink" | "other";
  /** The mode git would record: 100644, 100755 or 120000 (nothing for other kinds). */
  mode?: Exclude<TreeMode, "160000">;
  size: number;
  /** More than one name for the same file: it could be a file from outside the checkout. */
  hardLinked: boolean;
}

export type ChangeKind = "added" | "modified" | "deleted" | "mode-changed" | "type-changed";

/** One path the executor changed, against the base commit. */
export interface ExecutorChange {
  path: string;
  kind: ChangeKind;
  now?: FoundEntry;
  base?: TreeEntry;
  /** Why the path could not be looked at (a name that is not UTF-8, a folder it cannot enter). */
  unreadable?: string;
}

export interface ScanOptions {
  checkout: string;
  tree: ReadonlyMap<string, TreeEntry>;
  stamps: ReadonlyMap<string, FileStamp>;
  /** Base paths that were never written (see `materializeCheckout`): not judged either way. */
  skipped?: readonly string[];
}

/**
 * Every difference between what the executor left in its checkout and the base commit, path
 * by path: files added, removed, rewritten, made executable or not, turned into links or into
 * something else. Nothing is followed: links are read as links, folders are entered only as
 * folders, and the checkout's own `.git` is not looked at (it is the executor's). A file whose
 * inode, size, times and mode are as they were written is unchanged without being read; any
 * other file of the base is hashed and compared.
 */
export async function scanChanges(options: ScanOptions): Promise<ExecutorChange[]> {
  const changes: ExecutorChange[] = [];
  const seen = new Set<string>();
  const submodules = new Set(
    [...options.tree].filter(([, entry]) => entry.mode === "160000").map(([path]) => path),
  );

  async function walk(relative: string): Promise<void> {
    const dir = relative === "" ? options.checkout : join(options.checkout, relative);
    let names: Buffer[];
    try {
      names = readdirSync(dir, { encoding: "buffer" });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "error";
      changes.push({
        path: relative,
        kind: "added",
        unreadable: `folder cannot be read (${code})`,
      });
      return;
    }
    for (const raw of names) {
      const name = raw.toString("utf8");
      const path = relative === "" ? name : `${relative}/${name}`;
      if (relative === "" && name === ".git") continue;
      if (!Buffer.from(name, "utf8").equals(raw)) {
        changes.push({ path, kind: "added", unreadable: "file name is not valid UTF-8" });
        continue;
      }
      const full = join(options.checkout, path);
      // Synchronous: one lstat per file of the checkout, cheaper than a thread-pool round trip.
      const stat = lstatSync(full, { bigint: true });
      if (stat.isDirectory() && !submodules.has(path)) {
        await walk(path);
        continue;
      }
      if (stat.isDirectory()) {
        seen.add(path); // a submodule's folder: its content is not the repository's
        continue;
      }
      seen.add(path);
      const change = await compare(path, full, stat, options);
      if (change) changes.push(change);
    }
  }

  await walk("");
  const skipped = new Set(options.skipped ?? []);
  for (const [path, entry] of options.tree) {
    if (seen.has(path) || skipped.has(path)) continue;
    changes.push({ path, kind: "deleted", base: entry });
  }
  return changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function compare(
  path: string,
  full: string,
  stat: BigIntStats,
  options: ScanOptions,
): Promise<ExecutorChange | null> {
  const now = foundEntry(stat);
  const base = options.tree.get(path);
  if (!base) return { path, kind: "added", now };
  if (base.mode === "160000") return { path, kind: "type-changed", now, base };
  const baseType = base.mode === "120000" ? "symlink" : "file";
  if (now.type !== baseType) return { path, kind: "type-changed", now, base };
  if (now.type === "file" && now.mode !== base.mode)
    return { path, kind: "mode-changed", now, base };
  const stamp = options.stamps.get(path);
  if (stamp && matchesStamp(stat, stamp)) return null;
  if (now.type === "file" && base.size !== null && now.size !== base.size) {
    return { path, kind: "modified", now, base };
  }
  const bytes =
    now.type === "symlink"
      ? await readlink(full, { encoding: "buffer" })
      : await readFileExactly(full, now.size + 1);
  return blobSha(bytes) === base.sha ? null : { path, kind: "modified", now, base };
}

function foundEntry(stat: BigIntStats): FoundEntry {
  const size = Number(stat.size);
  const hardLinked = stat.nlink > 1n;
  if (stat.isSymbolicLink()) return { type: "symlink", mode: "120000", size, hardLinked };
  if (!stat.isFile()) return { type: "other", size, hardLinked };
  // As git records it: executable when the owner may execute.
  const mode = (Number(stat.mode) & 0o100) !== 0 ? "100755" : "100644";
  return { type: "file", mode, size, hardLinked };
}
