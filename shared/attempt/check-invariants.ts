import { lstat } from "node:fs/promises";
import { join } from "node:path";
import { BACKLOG_PATH, isChangeAllowed } from "../scope/check-path.ts";
import type { ScopeViolation } from "./attempt-failure.ts";
import type { ExecutorChange } from "./workspace/scan-changes.ts";

export interface CommitInvariantsInput {
  /** `scanChanges`: what the executor left, against the base commit. */
  changes: readonly ExecutorChange[];
  /** The task's `allowed_paths`, normalised. */
  allowedPaths: readonly string[];
  /** The target's `allowed_path_prefixes`. */
  prefixes: readonly string[];
  /** Whether the task's own paths cover the backlog, so its executor may change it. */
  mayEditBacklog: boolean;
}

/**
 * The commit-time rules on the executor's real change, path by path: inside the task's paths
 * and the target's prefixes (the backlog only when the task's paths cover it; the write-back
 * comes after this), a regular file or a deletion — never a link, a FIFO or a device, never a
 * second name of another file, never a changed mode — and a name that could be read. Returns
 * every violation, so one failed attempt names them all.
 */
export function checkCommitInvariants(input: CommitInvariantsInput): ScopeViolation[] {
  const violations: ScopeViolation[] = [];
  for (const change of input.changes) {
    const problem = changeProblem(change, input);
    if (problem) violations.push({ path: change.path, reason: problem });
  }
  return violations;
}

function changeProblem(change: ExecutorChange, input: CommitInvariantsInput): string | null {
  if (change.unreadable) return change.unreadable;
  if (change.path === BACKLOG_PATH && !input.mayEditBacklog) {
    return "changed by the executor, outside the task's allowed_paths";
  }
  const allowed = isChangeAllowed(change.path, input.allowedPaths, input.prefixes);
  if (!allowed.ok) return allowed.reason;
  const now = change.now;
  if (change.kind === "mode-changed") {
    return `file mode changed from ${change.base?.mode} to ${now?.mode} (a file made executable or not)`;
  }
  if (now?.type === "symlink") return "is a symbolic link";
  if (now?.type === "other") return "is not a regular file (a FIFO, socket or device)";
  if (change.kind === "type-changed") {
    return `was ${change.base?.mode === "120000" ? "a symbolic link" : "a submodule"}, is now a file`;
  }
  if (now?.hardLinked) return "is a hard link (a second name of another file)";
  return null;
}

/**
 * A symlink at a path, or above it inside `dir`, could make a write land outside the task's
 * scope: lstat the path and each of its ancestors, never following links. For the built-in
 * executors, which write into the executor's checkout from the trusted part.
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
