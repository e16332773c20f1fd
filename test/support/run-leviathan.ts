import { execFile } from "node:child_process";
import { repoPath } from "./repo-root.ts";

/** How a `leviathan` command ended. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunLeviathanOptions {
  /** Set over the test's own environment. */
  env?: NodeJS.ProcessEnv;
  /** Removed from the test's environment first (a value in `env` still sets it). */
  unset?: readonly string[];
  cwd?: string;
  timeoutMs?: number;
}

/**
 * Runs `bin/leviathan.js` as a user does, in a child process, and resolves with its exit code
 * and output. A child that ends without an exit code (killed at the timeout, not started) rejects.
 */
export function runLeviathan(
  args: readonly string[],
  options: RunLeviathanOptions = {},
): Promise<CliRun> {
  const env = { ...process.env };
  for (const name of options.unset ?? []) delete env[name];
  Object.assign(env, options.env);
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [repoPath("bin", "leviathan.js"), ...args],
      {
        env,
        ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
        timeout: options.timeoutMs ?? 30_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") return reject(error);
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}
