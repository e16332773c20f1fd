import { type ChildProcess, spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import type { Logger } from "../../log/logger.ts";
import { redact } from "../../log/logger.ts";
import { AttemptFailure } from "../attempt-failure.ts";
import type { ExecutorIsolation, Sweep } from "../isolation/executor-isolation.ts";
import { childrenOf, killUserProcesses, signal } from "../isolation/sweep-processes.ts";
import type { ExecutorArea } from "../workspace/executor-area.ts";

// Well under AttemptFailure's cap on a summary, so the end of the output (usually the reason) survives.
const OUTPUT_TAIL_BYTES = 2_000;
const DEFAULT_KILL_GRACE_MS = 5_000;
/** After the command exits, how long its output pipes may stay open (a stray child holds them). */
const CLOSE_GRACE_MS = 2_000;
const MAX_TIMER_MS = 2_147_483_647;

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
  const result = await supervise(argv, {
    cwd: run.area.checkout,
    env: executorEnvironment(run.area, run.executorEnv),
    limitMs: remaining,
    killGraceMs: run.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
    sweep: run.isolation.sweep,
  });
  const ms = elapsed();
  const output = result.tail.text(run.secrets);
  if ("error" in result.exit) {
    run.logger.warn({ program, ms }, "command: could not start");
    return { status: "not_started", error: redact(result.exit.error.message, run.secrets), ms };
  }
  run.logger.info(
    { program, ms, ...result.exit, timed_out: result.timedOut, survivors: result.survivors },
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

type Exit = { code: number | null; signal: NodeJS.Signals | null } | { error: Error };

/**
 * Runs `argv` in its own process group and waits for it. At `limitMs` the executor gets
 * SIGTERM, and SIGKILL `killGraceMs` later. When it has exited, whatever it left behind is
 * swept: a PID namespace is already empty when its launcher returns (the kernel kills the
 * namespace with its first process); otherwise its group, and its user's every process, are
 * killed. Returns only when the sweep is done.
 */
async function supervise(
  argv: readonly string[],
  options: {
    cwd: string;
    env: Record<string, string>;
    limitMs: number;
    killGraceMs: number;
    sweep: Sweep;
  },
): Promise<{ exit: Exit; timedOut: boolean; tail: OutputTail; survivors: number }> {
  const [program, ...args] = argv as [string, ...string[]];
  const child = spawn(program, args, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const tail = new OutputTail(OUTPUT_TAIL_BYTES);
  child.stdout?.on("data", (chunk: Buffer) => tail.push(chunk));
  child.stderr?.on("data", (chunk: Buffer) => tail.push(chunk));
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));

  let timedOut = false;
  let killTimer: NodeJS.Timeout | undefined;
  const deadlineTimer = setTimeout(
    () => {
      timedOut = true;
      void stop(child, options.sweep, "SIGTERM");
      killTimer = setTimeout(() => void stop(child, options.sweep, "SIGKILL"), options.killGraceMs);
    },
    Math.min(options.limitMs, MAX_TIMER_MS),
  );
  const exit = await new Promise<Exit>((resolve) => {
    child.once("error", (error) => resolve({ error }));
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  clearTimeout(deadlineTimer);
  clearTimeout(killTimer);
  const survivors = await sweepAfterExit(child, options.sweep);
  // Whatever still holds the pipes is dead or not ours: do not wait for them forever.
  await Promise.race([
    closed,
    new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref()),
  ]);
  child.stdout?.destroy();
  child.stderr?.destroy();
  return { exit, timedOut, tail, survivors };
}

/**
 * Stops a running executor. In a PID namespace the signal goes to the namespace's first
 * process (the launcher itself must live to report when the namespace is empty); otherwise to
 * the whole group.
 */
async function stop(child: ChildProcess, sweep: Sweep, name: NodeJS.Signals): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  if (sweep.kind === "pid-namespace") {
    for (const pid of await childrenOf(child.pid)) signal(pid, name);
    return;
  }
  signalGroup(child, name);
}

async function sweepAfterExit(child: ChildProcess, sweep: Sweep): Promise<number> {
  signalGroup(child, "SIGKILL");
  if (sweep.kind === "user") return killUserProcesses(sweep.uid);
  return 0;
}

function withOutput(summary: string, output: string): string {
  const trimmed = output.trim();
  return trimmed === "" ? summary : `${summary}; last output:\n${trimmed}`;
}

function signalGroup(child: ChildProcess, name: NodeJS.Signals): void {
  if (child.pid !== undefined) signal(-child.pid, name);
}

/**
 * The end of a stream of chunks. Twice the limit is kept and redacted before it is cut, so a
 * secret straddling the cut cannot leave a fragment behind.
 */
class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.chunks.length > 1 && this.size - (this.chunks[0]?.length ?? 0) >= 2 * this.limit) {
      this.size -= this.chunks.shift()?.length ?? 0;
    }
  }

  text(secrets: readonly string[]): string {
    const all = Buffer.concat(this.chunks);
    const kept = all.subarray(Math.max(0, all.length - 2 * this.limit)).toString("utf8");
    return redact(kept, secrets).slice(-this.limit);
  }
}
