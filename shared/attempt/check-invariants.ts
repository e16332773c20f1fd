import { lstat } from "node:fs/promises";
import { join } from "node:path";
import { compareGitFingerprints, type GitDirFingerprint } from "../git/fingerprint-git-dir.ts";
import type { ChangedPath } from "../git/list-changes.ts";
import { isChangeAllowed } from "../scope/check-path.ts";
import type { ScopeViolation } from "./attempt-failure.ts";

export interface CommitInvariantsInput {
  /** The checkout. */
  dir: string;
  /** `listChanges` after the executor and the write-back ran. */
  changes: readonly ChangedPath[];
  /** The task's `allowed_paths`. */
  allowedPaths: readonly string[];
  /** The target's `allowed_path_prefixes`. */
  prefixes: readonly string[];
  /** `.git/` before the executor ran, and now. */
  gitBefore: GitDirFingerprint;
  gitAfter: GitDirFingerprint;
}

export type CommitInvariantsResult =
  | { ok: true; paths: string[] }
  | { ok: false; violations: ScopeViolation[] };

/**
 * DESIGN §6 on the real diff: every changed path (both sides of a rename, untracked and
 * ignored files included) is allowed by `isChangeAllowed`, is no symlink and lies under none,
 * and `.git/` is exactly as it was. On success, `paths` is exactly what to `git add -f`
 * (sorted, deletions included); an empty list means there is nothing to commit.
 */
export async function checkCommitInvariants(
  input: CommitInvariantsInput,
): Promise<CommitInvariantsResult> {
  const violations: ScopeViolation[] = compareGitFingerprints(input.gitBefore, input.gitAfter).map(
    (change) => ({ path: change.path, reason: `git metadata ${change.change}` }),
  );
  const paths = [...new Set(input.changes.map((change) => change.path))].sort();
  for (const path of paths) {
    const problem = await pathProblem(input, path);
    if (problem) violations.push({ path, reason: problem });
  }
  return violations.length > 0 ? { ok: false, violations } : { ok: true, paths };
}

async function pathProblem(input: CommitInvariantsInput, path: string): Promise<string | null> {
  // git prints names as bytes; a name that was not UTF-8 cannot be named back to git exactly.
  if (path.includes("\uFFFD")) return "file name is not valid UTF-8";
  const allowed = isChangeAllowed(path, input.allowedPaths, input.prefixes);
  if (!allowed.ok) return allowed.reason;
  return symlinkProblem(input.dir, path);
}

/**
 * A symlink among the changed paths, or above one inside the checkout, could make a commit
 * point outside the task's scope (or the executor could have written through it): lstat the
 * path and each of its ancestors, never following links.
 */
export async function symlinkProblem(dir: string, path: string): Promise<string | null> {
  const segments = path.split("/");
  for (let depth = 1; depth <= segments.length; depth++) {
    const prefix = segments.slice(0, depth).join("/");
    let isLink: boolean;
    try {
      isLink = (await lstat(join(dir, prefix))).isSymbolicLink();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Gone (a deletion) or a file where a folder was: nothing further down exists to follow.
      if (code === "ENOENT" || code === "ENOTDIR") return null;
      throw error;
    }
    if (!isLink) continue;
    return depth === segments.length
      ? "is a symbolic link"
      : `lies under the symbolic link ${prefix}`;
  }
  return null;
}
