import { performance } from "node:perf_hooks";
import type { Logger } from "../../log/logger.ts";
import { redact } from "../../log/logger.ts";
import { runProcess } from "../../process/run-process.ts";
import { describeFailedKills, type KillRecord, sendSignal } from "../../process/signal-group.ts";
import { DEFAULT_KILL_GRACE_MS } from "../../process/spawn-group.ts";
import { AttemptFailure } from "../attempt-failure.ts";
import type { ExecutorIsolation } from "../isolation/executor-isolation.ts";
import { childrenOf, killUserProcesses } from "../isolation/sweep-processes.ts";
import type { ExecutorArea } from "../workspace/executor-area.ts";

// Well under AttemptFailure's cap on a summary, so the end of the output (usually the reason) survives.
const OUTPUT_TAIL_CHARACTERS = 2_000;

export interface CommandRun {
  /** argv, run without a shell: `LEVIATHAN_EXECUTOR_COMMAND` parsed by `parseExecutorCommand`. */
  command: readonly string[];
  area: ExecutorArea;
  isolation: ExecutorIsolation;
  /** The executor's own credentials (its model's API key), and nothing of Leviathan's. */
  executorEnv?: Readonly<Record<string, string>>;
  deadline: Date;
  logger: Logger;
  /** Values to cut from the output quoted in errors. */
  secrets: readonly string[];
  /** Between SIGTERM and SIGKILL at the deadline. */
  killGraceMs?: number;
}

/** How the command ended, as `deliver` needs it (also written by a Job's `execute` container). */
export type CommandOutcome =
  | { status: "exited"; code: number | null; signal: string | null; output: string; ms: number }
  | { status: "timed_out"; output: string; ms: number }
  | { status: "not_started"; error: string; ms: number };

/** `LEVIATHAN_EXECUTOR_COMMAND`: a JSON array of strings, the first the program. */
export function parseExecutorCommand(value: string | undefined): string[] {
  if (value === undefined || value.trim() === "") {
    throw new AttemptFailure("executor_failed", "task", "LEVIATHAN_EXECUTOR_COMMAND is not set");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    parsed = undefined;
  }
  const ok =
    Array.isArray(parsed) &&
    parsed.length > 0 &&
    parsed.every((part) => typeof part === "string") &&
    parsed[0] !== "";
  if (!ok) {
    throw new AttemptFailure(
      "executor_failed",
      "task",
      "LEVIATHAN_EXECUTOR_COMMAND must be a JSON array of strings, the first a program",
    );
  }
  return parsed as string[];
}

/**
 * The executor's whole environment: a PATH, its own HOME and TMPDIR, the task file, a locale,
 * and its own credentials. Nothing of the attempt's environment is inherited.
 */
export function executorEnvironment(
  area: ExecutorArea,
  executorEnv: Readonly<Record<string, string>> = {},
): Record<string, string> {
  return {
    ...executorEnv,
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: area.home,
    TMPDIR: area.tmp,
    LANG: "C.UTF-8",
    LEVIATHAN_TASK_FILE: area.taskFile,
  };
}

/**
 * Runs the program in the executor's checkout, isolated as decided, and waits until it and
 * everything it started are gone. At the deadline it is stopped (SIGTERM, then SIGKILL).
 * Never throws: `outcomeFailure` turns the outcome into the attempt's failure, if any.
 */
export async function runCommand(run: CommandRun): Promise<CommandOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const [program] = run.command;
  const remaining = run.deadline.getTime() - Date.now();
  if (!program) return { status: "not_started", error: "no program given", ms: 0 };
  if (remaining <= 0) {
    return {
      status: "timed_out",
      output: "the attempt's deadline passed before it could start",
      ms: 0,
    };
  }
  const argv = run.isolation.wrap(run.command);
  run.logger.info({ program, isolation: run.isolation.isolation }, "command: started");
  const sweep = run.isolation.sweep;
  const result = await runProcess(argv, {
    cwd: run.area.checkout,
    env: executorEnvironment(run.area, run.executorEnv),
    timeoutMs: remaining,
    killGraceMs: run.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
    tailLimit: OUTPUT_TAIL_CHARACTERS,
    secrets: run.secrets,
    // In a PID namespace the launcher must live to report when the namespace is empty.
    ...(sweep.kind === "pid-namespace" ? { deliver: signalNamespace } : {}),
    ...(sweep.kind === "user" ? { sweep: () => killUserProcesses(sweep.uid) } : {}),
    onKillFailed: (kill) => run.logger.error({ program, ...kill }, "command: a kill failed"),
  });
  const ms = elapsed();
  const output = result.tail;
  if (result.exit.kind === "not_started") {
    run.logger.warn({ program, ms }, "command: could not start");
    return { status: "not_started", error: redact(result.exit.error.message, run.secrets), ms };
  }
  const failedKills = describeFailedKills(result.kills);
  run.logger.info(
    {
      program,
      ms,
      code: result.exit.code,
      signal: result.exit.signal,
      timed_out: result.timedOut,
      survivors: result.survivors,
      ...(failedKills ? { failed_kills: failedKills } : {}),
    },
    "command: finished",
  );
  if (result.timedOut) return { status: "timed_out", output, ms };
  return { status: "exited", code: result.exit.code, signal: result.exit.signal, output, ms };
}

/** The attempt's failure for an outcome (`timeout`, `executor_failed`), or null on success. */
export function outcomeFailure(program: string, outcome: CommandOutcome): AttemptFailure | null {
  if (outcome.status === "not_started") {
    return new AttemptFailure(
      "executor_failed",
      "task",
      `command: could not start ${program}: ${outcome.error}`,
    );
  }
  if (outcome.status === "timed_out") {
    return new AttemptFailure(
      "timeout",
      "task",
      withOutput("command: still running at the attempt's deadline; stopped", outcome.output),
    );
  }
  if (outcome.code === 0) return null;
  const how =
    outcome.code === null ? `was killed by ${outcome.signal}` : `exited with code ${outcome.code}`;
  return new AttemptFailure(
    "executor_failed",
    "task",
    withOutput(`command: ${program} ${how}`, outcome.output),
  );
}

/**
 * Stops an executor in a PID namespace: the signal goes to the namespace's first process, not
 * to the launcher, which must live to report when the namespace is empty (the kernel kills
 * the namespace with its first process). After exit `runProcess` kills the group as always.
 */
async function signalNamespace(pid: number, name: NodeJS.Signals): Promise<KillRecord[]> {
  return (await childrenOf(pid)).map((child) => sendSignal(child, name));
}

function withOutput(summary: string, output: string): string {
  const trimmed = output.trim();
  return trimmed === "" ? summary : `${summary}; last output:\n${trimmed}`;
}
