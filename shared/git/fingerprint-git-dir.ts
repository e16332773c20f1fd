import { createHash } from "node:crypto";
import type { BigIntStats } from "node:fs";
import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";

/**
 * What `.git/` looked like: one descriptor per entry, keyed by the path under `.git/`
 * (`""` is `.git` itself). Taken before the executor runs and compared after it.
 */
export interface GitDirFingerprint {
  /** A Map, not an object: a file named `__proto__` must count like any other. */
  entries: ReadonlyMap<string, string>;
}

export interface GitDirChange {
  /** `.git/hooks/pre-commit`, `.git/config`, or `.git` itself. */
  path: string;
  change: "added" | "removed" | "changed";
}

/**
 * Object files are named by their content (loose objects by the object's hash, packs and
 * their indexes by the pack's checksum), so a new or removed name is a new or removed object
 * and is caught by the listing. Their content is not hashed (a pack can be large); instead
 * their inode, size and ctime are kept: rewriting a file in place or replacing it changes them,
 * and unlike mtime, ctime cannot be set back by an unprivileged process. Everything else —
 * `objects/info/alternates`, commit-graphs, refs, config, hooks, index, info/… — is hashed.
 */
const CONTENT_ADDRESSED =
  /^objects\/(?:[0-9a-f]{2}\/[0-9a-f]{38,62}|pack\/pack-[0-9a-f]{40,64}\.(?:pack|idx|rev))$/;

/** Fingerprints `<checkout>/.git` without following any symlink. */
export async function fingerprintGitDir(checkoutDir: string): Promise<GitDirFingerprint> {
  const entries = new Map<string, string>();
  await visit(join(checkoutDir, ".git"), "", entries);
  return { entries };
}

async function visit(absolute: string, relative: string, entries: Map<string, string>) {
  let stats: BigIntStats;
  try {
    stats = await lstat(absolute, { bigint: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  const mode = (stats.mode & 0o7777n).toString(8);
  if (stats.isSymbolicLink()) {
    entries.set(relative, `symlink ${await readlink(absolute)}`);
    return;
  }
  if (stats.isFile()) {
    entries.set(
      relative,
      CONTENT_ADDRESSED.test(relative)
        ? `object ${mode} ${stats.ino} ${stats.size} ${stats.ctimeNs}`
        : `file ${mode} ${await hashFile(absolute)}`,
    );
    return;
  }
  if (!stats.isDirectory()) {
    entries.set(relative, `other ${stats.mode.toString(8)}`);
    return;
  }
  entries.set(relative, `dir ${mode}`);
  const names = (await readdir(absolute)).sort();
  for (const name of names) {
    await visit(join(absolute, name), relative === "" ? name : `${relative}/${name}`, entries);
  }
}

async function hashFile(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

/** Every entry added, removed or changed between two fingerprints, in path order. */
export function compareGitFingerprints(
  before: GitDirFingerprint,
  after: GitDirFingerprint,
): GitDirChange[] {
  const changes: GitDirChange[] = [];
  const paths = new Set([...before.entries.keys(), ...after.entries.keys()]);
  for (const path of [...paths].sort()) {
    const was = before.entries.get(path);
    const is = after.entries.get(path);
    if (was === is) continue;
    const shown = path === "" ? ".git" : `.git/${path}`;
    changes.push({
      path: shown,
      change: was === undefined ? "added" : is === undefined ? "removed" : "changed",
    });
  }
  return changes;
}
