import type { BigIntStats } from "node:fs";
import { closeSync, lstatSync, mkdirSync, openSync, symlinkSync, writeSync } from "node:fs";
import { cp, lstat, open, readdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { TreeEntry } from "../../git/list-tree.ts";
import { readBlobs } from "../../git/read-blobs.ts";
import { runGit } from "../../git/run-git.ts";
import type { Logger } from "../../log/logger.ts";
import { type HandOver, handOver } from "./hand-over.ts";

/** What a file the trusted part wrote looked like, to see later, cheaply, that it is untouched. */
export interface FileStamp {
  ino: string;
  size: string;
  mtimeNs: string;
  ctimeNs: string;
  mode: number;
  /** Written in the same clock tick as the end of the copy: always read back in full. */
  racy: boolean;
}

export interface MaterializedCheckout {
  /** By repository path, every file and link written. */
  stamps: Map<string, FileStamp>;
  /** Base paths that could not be written as named (not valid UTF-8): left out, never judged. */
  skipped: string[];
  files: number;
}

/**
 * Writes the base commit's files into the executor's checkout from the trusted repository's
 * objects: the exact bytes of each blob (no filters, no attributes), executable bits and links
 * as committed, empty folders for submodules. Then gives the executor a `.git` of its own: a
 * copy of the trusted one with an index of the base tree, so an agent can use git; nothing in
 * it is ever read back. Returns a stamp of every file, so the trusted part can tell later which
 * files the executor touched without reading them all.
 */
export async function materializeCheckout(options: {
  /** The trusted repository (a `--no-checkout` clone). */
  trustedDir: string;
  tree: ReadonlyMap<string, TreeEntry>;
  checkout: string;
  how: HandOver;
  timeoutMs?: number;
  logger?: Logger;
}): Promise<MaterializedCheckout> {
  const { checkout, how } = options;
  const stamps = new Map<string, FileStamp>();
  const skipped: string[] = [];
  const made = new Set<string>([""]);
  const ensureDir = (relative: string): void => {
    if (made.has(relative)) return;
    ensureDir(parentOf(relative));
    mkdirSync(join(checkout, relative), { mode: 0o755 });
    handOver(join(checkout, relative), "dir", false, how);
    made.add(relative);
  };

  const blobs: Array<{ path: string; entry: TreeEntry }> = [];
  for (const [path, entry] of options.tree) {
    if (path.includes("\uFFFD")) {
      skipped.push(path);
      continue;
    }
    if (entry.mode === "160000") ensureDir(path);
    else blobs.push({ path, entry });
  }

  // Written synchronously as the blobs stream in: one small file is a few system calls, and
  // going through the thread pool for each would cost more than the calls themselves.
  await readBlobs(
    blobs.map((blob) => blob.entry.sha),
    (index, bytes) => {
      const { path, entry } = blobs[index]!;
      ensureDir(parentOf(path));
      writeEntry(join(checkout, path), entry, bytes, how);
    },
    { dir: options.trustedDir, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) },
  );

  await giveExecutorGit(options.trustedDir, checkout, how, options);
  // A file written in the clock tick the copy ended in could be rewritten within that tick
  // without its times changing: such files are always read back in full.
  const tick = await clockNow(checkout);
  for (const { path } of blobs) {
    const stat = lstatSync(join(checkout, path), { bigint: true });
    stamps.set(path, stampOf(stat, stat.ctimeNs >= tick));
  }
  return { stamps, skipped, files: blobs.length };
}

export function stampOf(stat: BigIntStats, racy: boolean): FileStamp {
  return {
    ino: String(stat.ino),
    size: String(stat.size),
    mtimeNs: String(stat.mtimeNs),
    ctimeNs: String(stat.ctimeNs),
    mode: Number(stat.mode),
    racy,
  };
}

/** Whether a file is exactly as stamped: same inode, size, times and mode. */
export function matchesStamp(stat: BigIntStats, stamp: FileStamp): boolean {
  return (
    !stamp.racy &&
    String(stat.ino) === stamp.ino &&
    String(stat.size) === stamp.size &&
    String(stat.mtimeNs) === stamp.mtimeNs &&
    String(stat.ctimeNs) === stamp.ctimeNs &&
    Number(stat.mode) === stamp.mode
  );
}

function writeEntry(file: string, entry: TreeEntry, bytes: Buffer, how: HandOver): void {
  if (entry.mode === "120000") {
    symlinkSync(bytes, file);
    handOver(file, "symlink", false, how);
    return;
  }
  const executable = entry.mode === "100755";
  const fd = openSync(file, "wx", executable ? 0o755 : 0o644);
  try {
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written);
  } finally {
    closeSync(fd);
  }
  handOver(file, "file", executable, how);
}

/**
 * The executor's own `.git`: the trusted repository's git directory copied (a shallow clone's
 * few files and one pack), an index of the base tree written into it, and handed over.
 */
async function giveExecutorGit(
  trustedDir: string,
  checkout: string,
  how: HandOver,
  options: { timeoutMs?: number; logger?: Logger },
): Promise<void> {
  const gitDir = join(checkout, ".git");
  await cp(join(trustedDir, ".git"), gitDir, { recursive: true, verbatimSymlinks: true });
  await rm(join(gitDir, "leviathan-commit-index"), { force: true });
  await runGit(["read-tree", "HEAD"], {
    dir: checkout,
    timeoutMs: options.timeoutMs,
    logger: options.logger,
    env: { GIT_DIR: gitDir, GIT_WORK_TREE: checkout },
  });
  await handOverTree(gitDir, how);
}

async function handOverTree(dir: string, how: HandOver): Promise<void> {
  if (how.kind === "none") return;
  handOver(dir, "dir", false, how);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await handOverTree(path, how);
    else handOver(path, entry.isSymbolicLink() ? "symlink" : "file", false, how);
  }
}

/** The file system's clock now: the change time of a file made for the purpose. */
async function clockNow(dir: string): Promise<bigint> {
  const probe = join(dir, ".git", "leviathan-clock");
  const handle = await open(probe, "w", 0o600);
  await handle.close();
  const { ctimeNs } = await lstat(probe, { bigint: true });
  await rm(probe, { force: true });
  return ctimeNs;
}

function parentOf(path: string): string {
  const parent = dirname(path);
  return parent === "." ? "" : parent;
}
