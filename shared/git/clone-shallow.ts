import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { Logger } from "../log/logger.ts";
import { assertSafeBranchName } from "./check-branch-name.ts";
import { GitCommandError } from "./git-errors.ts";
import { runGit } from "./run-git.ts";

export const DEFAULT_CLONE_TIMEOUT_MS = 300_000;

export interface CloneShallowOptions {
  /** https://…, plain http://… (loopback forge) or file://… (tests); never with credentials. */
  url: string;
  branch: string;
  /** Must not exist yet, or be empty. */
  dir: string;
  token?: string;
  timeoutMs?: number;
  logger?: Logger;
  /** Only the git directory: nothing is checked out (the attempt writes files from objects). */
  noCheckout?: boolean;
}

/** `git clone --depth 1 --single-branch --branch <branch> --no-tags`, the token as a header. */
export async function cloneShallow(options: CloneShallowOptions): Promise<void> {
  checkCloneUrl(options.url);
  assertSafeBranchName(options.branch);
  const dir = resolve(options.dir);
  await mkdir(dirname(dir), { recursive: true });
  await runGit(
    [
      "clone",
      "--depth",
      "1",
      "--single-branch",
      "--branch",
      options.branch,
      "--no-tags",
      ...(options.noCheckout ? ["--no-checkout"] : []),
      "--",
      options.url,
      dir,
    ],
    {
      dir: dirname(dir),
      token: options.token,
      timeoutMs: options.timeoutMs ?? DEFAULT_CLONE_TIMEOUT_MS,
      logger: options.logger,
    },
  );
}

/** The URL is written to `.git/config` and may appear in git's messages: no secrets in it. */
function checkCloneUrl(raw: string): void {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new GitCommandError("clone", "the repository URL is not a URL");
  }
  if (!["https:", "http:", "file:"].includes(url.protocol)) {
    throw new GitCommandError("clone", `unsupported repository URL scheme ${url.protocol}`);
  }
  if (url.username || url.password) {
    throw new GitCommandError("clone", "the repository URL must not carry credentials");
  }
}
