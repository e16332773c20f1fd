import type { Logger } from "../../log/logger.ts";
import { runProcess } from "../../process/run-process.ts";
import { describeFailedKills } from "../../process/signal-group.ts";
import { refsChanged } from "./ref-generations.ts";

export const DEFAULT_FORGE_GIT_TIMEOUT_MS = 120_000;

/** Author and committer of the commits the forge itself makes (merges, first commits). */
export const FORGE_GIT_IDENTITY = { name: "Leviathan Forge", email: "forge@leviathan.local" };

export interface ForgeGitOptions {
  /** The bare repository (`--git-dir`). */
  gitDir: string;
  /** Added to the base environment (e.g. `GIT_INDEX_FILE`, `GIT_WORK_TREE`). */
  env?: Record<string, string>;
  timeoutMs?: number;
  logger?: Logger;
  /** Exit codes that are answers, not failures (`merge-tree` says 1 for a conflict). */
  okExitCodes?: readonly number[];
}

export interface ForgeGitResult {
  stdout: Buffer;
  exitCode: number;
}

/** Commands that never move a ref; any other one counts as a change of the repository's refs. */
const READS = new Set([
  "cat-file",
  "diff",
  "for-each-ref",
  "ls-tree",
  "merge-base",
  "merge-tree",
  "rev-list",
  "rev-parse",
]);

export class ForgeGitError extends Error {
  override readonly name = "ForgeGitError";
}

/**
 * The environment of every git process the forge starts: no user or system config takes part,
 * nothing prompts, and output is in the C locale so it can be parsed.
 */
export function forgeGitEnvironment(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: "/dev/null",
    LANG: "C",
    LC_ALL: "C",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_TERMINAL_PROMPT: "0",
    GIT_AUTHOR_NAME: FORGE_GIT_IDENTITY.name,
    GIT_AUTHOR_EMAIL: FORGE_GIT_IDENTITY.email,
    GIT_COMMITTER_NAME: FORGE_GIT_IDENTITY.name,
    GIT_COMMITTER_EMAIL: FORGE_GIT_IDENTITY.email,
    ...extra,
  };
}

/**
 * One plumbing command on a bare repository, with a hard time limit. stdout stays bytes, so
 * file contents read with `cat-file` arrive unchanged. (The attempt's `runGit` serves a clone
 * on the client side and returns text; the forge needs bytes and its own environment.)
 */
export async function forgeGit(
  args: readonly string[],
  options: ForgeGitOptions,
): Promise<ForgeGitResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_FORGE_GIT_TIMEOUT_MS;
  const command = args[0] ?? "git";
  // Its own group, SIGKILL at the limit: plumbing has nothing to clean up.
  const result = await runProcess(["git", "--git-dir", options.gitDir, ...args], {
    env: forgeGitEnvironment(options.env),
    timeoutMs,
    killGraceMs: 0,
    collectStdout: true,
    tailLimit: 1_000,
  });
  // Failed or not, it may have moved a ref before it ended.
  if (!READS.has(command)) refsChanged(options.gitDir);
  const failedKills = describeFailedKills(result.kills);
  if (result.exit.kind === "not_started") {
    throw new ForgeGitError(`git ${command} could not start: ${result.exit.error.message}`);
  }
  const exitCode = result.exit.code ?? -1;
  const ok = !result.timedOut && (exitCode === 0 || (options.okExitCodes ?? []).includes(exitCode));
  options.logger?.debug(
    { git: command, exitCode, ms: result.ms, ok, ...(failedKills ? { kill: failedKills } : {}) },
    "forge git command done",
  );
  if (ok) return { stdout: result.stdout, exitCode };
  const reason = result.timedOut
    ? `timed out after ${timeoutMs} ms${failedKills ? ` (${failedKills})` : ""}`
    : `exited ${exitCode}: ${result.tail.trim()}`;
  throw new ForgeGitError(`git ${command} ${reason}`);
}

/** stdout as text without the final newline. */
export async function forgeGitText(
  args: readonly string[],
  options: ForgeGitOptions,
): Promise<string> {
  const { stdout } = await forgeGit(args, options);
  return stdout.toString("utf8").replace(/\n$/, "");
}
