import { runProcess } from "../../process/run-process.ts";
import { describeFailedKills } from "../../process/signal-group.ts";
import { ReplayError } from "./replay-types.ts";

const MINUTE = 60_000;
/** Generous bounds for a 2-core machine; a step that needs longer is a finding, not a flake. */
export const LIMITS = {
  git: MINUTE,
  npm: 6 * MINUTE,
  other: 3 * MINUTE,
  health: 60_000,
  stop: 20_000,
};

/** Enough of a failed step's output to see why: its last lines are printed. */
const TAIL_CHARACTERS = 16_000;

export interface ReplayCommandOptions {
  cwd: string;
  env: Record<string, string | undefined>;
  timeoutMs: number;
  /** The answer is stdout (git): kept whole, stderr in the tail. */
  collectStdout?: boolean;
}

/**
 * Runs argv to completion (no shell) in its own process group, so a timeout ends all of it;
 * resolves with stdout (when collected) and throws a ReplayError saying how it failed.
 */
export async function runReplayCommand(
  argv: readonly string[],
  options: ReplayCommandOptions,
): Promise<{ seconds: number; output: string }> {
  const result = await runProcess(argv, {
    cwd: options.cwd,
    env: options.env,
    timeoutMs: options.timeoutMs,
    killGraceMs: 0,
    tailLimit: TAIL_CHARACTERS,
    collectStdout: options.collectStdout ?? false,
  });
  const command = argv.join(" ");
  if (result.exit.kind === "not_started") {
    throw new ReplayError(`${command}: ${result.exit.error.message}`);
  }
  const seconds = result.ms / 1000;
  if (result.exit.code === 0 && !result.timedOut) {
    return { seconds, output: result.stdout.toString("utf8") };
  }
  const failedKills = describeFailedKills(result.kills);
  const why = result.timedOut
    ? `timed out after ${options.timeoutMs / 1000}s${failedKills ? ` (${failedKills})` : ""}`
    : `exited ${result.exit.code ?? result.exit.signal}`;
  throw new ReplayError(`${command} ${why}:\n${lastLines(result.tail)}`);
}

/** The last lines of a program's output, for a report. */
export function lastLines(text: string, lines = 30): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}
