import type { Logger } from "../log/logger.ts";
import { assertSafeBranchName } from "./check-branch-name.ts";
import { runGit } from "./run-git.ts";

export const DEFAULT_PUSH_TIMEOUT_MS = 300_000;

export interface PushBranchOptions {
  dir: string;
  /** The remote branch to write, e.g. `agent/docs-attempt-…`. */
  branch: string;
  token?: string;
  /** A retried attempt rewrites its own branch: force is the default. */
  force?: boolean;
  timeoutMs?: number;
  logger?: Logger;
}

/** Pushes HEAD to `refs/heads/<branch>` on `origin` (the clone's URL), the token as a header. */
export async function pushBranch(options: PushBranchOptions): Promise<void> {
  assertSafeBranchName(options.branch);
  const force = options.force ?? true;
  await runGit(
    ["push", "--porcelain", "origin", `${force ? "+" : ""}HEAD:refs/heads/${options.branch}`],
    {
      dir: options.dir,
      token: options.token,
      timeoutMs: options.timeoutMs ?? DEFAULT_PUSH_TIMEOUT_MS,
      logger: options.logger,
    },
  );
}
