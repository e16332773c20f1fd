import { performance } from "node:perf_hooks";
import { simpleGit } from "simple-git";
import type { Logger } from "../log/logger.ts";
import { redact } from "../log/logger.ts";
import { GIT_SAFETY_CONFIG, gitEnvironment, tokenForms } from "./git-environment.ts";
import { GitCommandError, GitTimeoutError } from "./git-errors.ts";

export const DEFAULT_GIT_TIMEOUT_MS = 120_000;

export interface GitCallOptions {
  /** Working directory of the command. */
  dir: string;
  /** Sent as an HTTP header through the environment; only clone and push need it. */
  token?: string;
  timeoutMs?: number;
  logger?: Logger;
  /** More variables for this command, e.g. `GIT_INDEX_FILE` for a temporary index. */
  env?: Readonly<Record<string, string>>;
}

/**
 * Runs one git command the way every attempt command must run: the environment of
 * `gitEnvironment`, the `-c` settings of `GIT_SAFETY_CONFIG`, a hard time limit, and an
 * error message with every form of the token removed. Returns stdout.
 */
export async function runGit(args: readonly string[], options: GitCallOptions): Promise<string> {
  const command = args[0] ?? "git";
  const timeoutMs = options.timeoutMs ?? DEFAULT_GIT_TIMEOUT_MS;
  const env = { ...gitEnvironment(options.token), ...options.env };
  const signal = AbortSignal.timeout(timeoutMs);
  const git = simpleGit({
    baseDir: options.dir,
    config: [...GIT_SAFETY_CONFIG],
    abort: signal,
    // Also stops a command that goes silent; the abort signal is the hard limit.
    timeout: { block: timeoutMs },
    // These are our own settings, not user input: they switch dangerous things off.
    unsafe: {
      allowUnsafeHooksPath: true,
      allowUnsafeFsMonitor: true,
      allowUnsafeConfigEnvCount: true,
    },
    allowEnvironment: Object.keys(env),
  }).env(env);
  const started = performance.now();
  try {
    const out = await git.raw([...args]);
    options.logger?.debug({ git: command, ok: true, ms: elapsed(started) }, "git command done");
    return out;
  } catch (error) {
    const raw = error instanceof Error ? error.message : String(error);
    // Either limit may fire first: the abort signal, or simple-git's silence timeout.
    const timedOut = signal.aborted || /block timeout reached/i.test(raw);
    const failure = timedOut
      ? new GitTimeoutError(command, timeoutMs)
      : new GitCommandError(command, describe(command, raw, options.token));
    options.logger?.warn(
      { git: command, ok: false, ms: elapsed(started), error: failure.message },
      "git command failed",
    );
    throw failure;
  }
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

function describe(command: string, raw: string, token: string | undefined): string {
  const text = redact(raw, tokenForms(token)).trim();
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  // git's last lines say what went wrong; keep the message short enough for an event.
  return `git ${command} failed: ${lines.slice(-8).join("\n").slice(-2000)}`;
}
