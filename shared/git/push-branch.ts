import type { Logger } from "../log/logger.ts";
import { assertSafeBranchName } from "./check-branch-name.ts";
import { runGit } from "./run-git.ts";

export const DEFAULT_PUSH_TIMEOUT_MS = 300_000;

export interface PushBranchOptions {
  dir: string;
  /** The commit to push, by its full sha (never a ref a work tree could have moved). */
  commit: string;
  /** The remote branch to write, e.g. `agent/docs-attempt-…`. */
  branch: string;
  token?: string;
  /** A retried attempt rewrites its own branch: force is the default. */
  force?: boolean;
  timeoutMs?: number;
  logger?: Logger;
}

/** Pushes `commit` to `refs/heads/<branch>` on `origin` (the clone's URL), the token as a header. */
export async function pushBranch(options: PushBranchOptions): Promise<void> {
  assertSafeBranchName(options.branch);
  if (!/^[0-9a-f]{40,64}$/.test(options.commit)) throw new Error("push needs a full commit sha");
  const force = options.force ?? true;
  await runGit(
    [
      "push",
      "--porcelain",
      "origin",
      `${force ? "+" : ""}${options.commit}:refs/heads/${options.branch}`,
    ],
    {
      dir: options.dir,
      token: options.token,
      timeoutMs: options.timeoutMs ?? DEFAULT_PUSH_TIMEOUT_MS,
      logger: options.logger,
    },
  );
}

/** The sha `refs/heads/<branch>` has on `origin` now, or null when there is no such branch. */
export async function remoteBranchSha(options: {
  dir: string;
  branch: string;
  token?: string;
  timeoutMs?: number;
  logger?: Logger;
}): Promise<string | null> {
  assertSafeBranchName(options.branch);
  const out = await runGit(["ls-remote", "--heads", "origin", `refs/heads/${options.branch}`], {
    dir: options.dir,
    token: options.token,
    timeoutMs: options.timeoutMs ?? DEFAULT_PUSH_TIMEOUT_MS,
    logger: options.logger,
  });
  const line = out.split("\n").find((l) => l.endsWith(`\trefs/heads/${options.branch}`));
  return line ? (line.split("\t")[0] ?? null) : null;
}

/** The paths two commits differ in (no rename detection: both sides of a move are listed). */
export async function changedPathsBetween(options: {
  dir: string;
  from: string;
  to: string;
  timeoutMs?: number;
  logger?: Logger;
}): Promise<string[]> {
  const out = await runGit(
    [
      "diff-tree",
      "-r",
      "-z",
      "--no-renames",
      "--no-commit-id",
      "--name-only",
      options.from,
      options.to,
    ],
    { dir: options.dir, timeoutMs: options.timeoutMs, logger: options.logger },
  );
  return out.split("\0").filter((path) => path !== "");
}
