import { type GroupResult, type SpawnGroupOptions, spawnGroup } from "./spawn-group.ts";

export interface RunProcessOptions extends Omit<SpawnGroupOptions, "stdin" | "output" | "tail"> {
  /** Written to its stdin, which is then closed; without it stdin is /dev/null. */
  input?: string | Buffer;
  /**
   * Keep stdout whole, as bytes (a command whose output is the answer); the tail then holds
   * stderr only. Otherwise both go to the tail.
   */
  collectStdout?: boolean;
}

export interface ProcessResult extends GroupResult {
  /** stdout as bytes with `collectStdout`; empty otherwise. */
  stdout: Buffer;
}

/**
 * Runs `argv` to the end under `spawnGroup`'s rules (own group, deadline, group killed after
 * the leader, bounded redacted tail) and returns how it ended. Never rejects for the child's
 * sake: a program that cannot start is `exit.kind === "not_started"`.
 */
export async function runProcess(
  argv: readonly string[],
  options: RunProcessOptions,
): Promise<ProcessResult> {
  const { input, collectStdout, ...rest } = options;
  const group = spawnGroup(argv, {
    ...rest,
    stdin: input === undefined ? "ignore" : "pipe",
    tail: collectStdout ? "stderr" : "both",
  });
  const chunks: Buffer[] = [];
  if (collectStdout) group.stdout?.on("data", (chunk: Buffer) => chunks.push(chunk));
  if (input !== undefined && group.stdin) {
    // It may exit before reading everything; its exit says what happened, not EPIPE.
    group.stdin.on("error", () => undefined);
    group.stdin.end(input);
  }
  const result = await group.done;
  return { ...result, stdout: Buffer.concat(chunks) };
}
