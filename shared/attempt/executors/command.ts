import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { redact } from "../../log/logger.ts";
import { AttemptFailure } from "../attempt-failure.ts";
import type { Executor, ExecutorContext } from "./types.ts";

/** Names that must never reach the executor, whatever the caller asks to pass on. */
const SECRET_NAME = /TOKEN|SECRET|PASSWORD/i;
// Well under AttemptFailure's cap on a summary, so the end of the output (usually the reason) survives.
const OUTPUT_TAIL_BYTES = 2_000;
const DEFAULT_KILL_GRACE_MS = 5_000;
/** After the command exits, how long its output pipes may stay open (a stray child holds them). */
const CLOSE_GRACE_MS = 2_000;
const MAX_TIMER_MS = 2_147_483_647;

export interface CommandExecutorOptions {
  /** argv, run without a shell: `LEVIATHAN_EXECUTOR_COMMAND` parsed by `parseExecutorCommand`. */
  command: readonly string[];
  /** Between SIGTERM and SIGKILL at the deadline. */
  killGraceMs?: number;
  /** More variables to pass on from this process; names that look secret are dropped anyway. */
  passEnv?: readonly string[];
  /** More values to cut from the output quoted in errors. */
  secrets?: readonly string[];
}

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
 * The executor's whole environment: nothing is inherited unless named in `passEnv`, and never
 * a variable whose name looks secret. `GIT_OPTIONAL_LOCKS=0` keeps a `git status` the command
 * runs from refreshing `.git/index`, which the fingerprint would rightly count as a change.
 */
export function executorEnvironment(options: {
  home: string;
  taskFile: string;
  passEnv?: readonly string[];
}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: options.home,
    LANG: "C.UTF-8",
    TMPDIR: options.home,
    LEVIATHAN_TASK_FILE: options.taskFile,
    GIT_OPTIONAL_LOCKS: "0",
  };
  for (const name of options.passEnv ?? []) {
    const value = process.env[name];
    if (value !== undefined && !SECRET_NAME.test(name) && !(name in env)) env[name] = value;
  }
  return env;
}

/** Every value of this process's environment whose name looks secret, for redaction. */
function secretValues(extra: readonly string[] = []): string[] {
  const values = Object.entries(process.env)
    .filter(([name, value]) => SECRET_NAME.test(name) && value)
    .map(([, value]) => value as string);
  return [...values, ...extra];
}

/**
 * Runs a program in the checkout with the task as JSON at `LEVIATHAN_TASK_FILE` (a temporary
 * folder outside the checkout). Its process group is killed at the deadline (SIGTERM, then
 * SIGKILL) → `timeout`; a non-zero exit → `executor_failed` with the redacted end of its output.
 * When it exits, whatever it left running in its group is killed, so nothing changes the
 * checkout while the invariants are checked.
 */
export function createCommandExecutor(options: CommandExecutorOptions): Executor {
  return {
    name: "command",
    async run(context) {
      const scratch = await mkdtemp(join(tmpdir(), "leviathan-task-"));
      try {
        await runCommand(context, options, scratch);
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    },
  };
}

async function runCommand(
  context: ExecutorContext,
  options: CommandExecutorOptions,
  scratch: string,
): Promise<void> {
  const [program, ...args] = options.command;
  if (!program) throw new AttemptFailure("executor_failed", "task", "command: no program given");
  const remaining = context.deadline.getTime() - Date.now();
  if (remaining <= 0) {
    throw new AttemptFailure(
      "timeout",
      "task",
      "command: the attempt's deadline passed before it could start",
    );
  }
  const home = join(scratch, "home");
  await mkdir(home, { mode: 0o700 });
  const taskFile = join(scratch, "task.json");
  const taskJson = JSON.stringify({ ...context.task.raw, id: context.task.id }, null, 2);
  await writeFile(taskFile, `${taskJson}\n`, { mode: 0o600 });
  const env = executorEnvironment({ home, taskFile, passEnv: options.passEnv });
  const secrets = secretValues(options.secrets);
  const started = performance.now();
  context.logger.info({ task_id: context.task.id, program }, "command: started");
  const run = await supervise(program, args, {
    cwd: context.dir,
    env,
    limitMs: remaining,
    killGraceMs: options.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
  });
  const ms = Math.round(performance.now() - started);
  const output = run.tail.text(secrets);
  const { exit, timedOut } = run;
  if ("error" in exit) {
    context.logger.warn({ task_id: context.task.id, program, ms }, "command: could not start");
    throw new AttemptFailure(
      "executor_failed",
      "task",
      redact(`command: could not start ${program}: ${exit.error.message}`, secrets),
    );
  }
  context.logger.info(
    { task_id: context.task.id, program, ms, ...exit, timed_out: timedOut },
    "command: finished",
  );
  if (timedOut) {
    throw new AttemptFailure(
      "timeout",
      "task",
      withOutput("command: still running at the attempt's deadline; stopped", output),
    );
  }
  if (exit.code !== 0) {
    const how =
      exit.code === null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    throw new AttemptFailure(
      "executor_failed",
      "task",
      withOutput(`command: ${program} ${how}`, output),
    );
  }
}

type Exit = { code: number | null; signal: NodeJS.Signals | null } | { error: Error };

/**
 * Runs the program in its own process group and waits for it. At `limitMs` the group gets
 * SIGTERM, and SIGKILL `killGraceMs` later; when the program exits, whatever is left in its
 * group gets SIGKILL, so nothing keeps changing the checkout while it is checked.
 */
async function supervise(
  program: string,
  args: string[],
  options: { cwd: string; env: Record<string, string>; limitMs: number; killGraceMs: number },
): Promise<{ exit: Exit; timedOut: boolean; tail: OutputTail }> {
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
      signalGroup(child, "SIGTERM");
      killTimer = setTimeout(() => signalGroup(child, "SIGKILL"), options.killGraceMs);
    },
    Math.min(options.limitMs, MAX_TIMER_MS),
  );
  const exit = await new Promise<Exit>((resolve) => {
    child.once("error", (error) => resolve({ error }));
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  clearTimeout(deadlineTimer);
  clearTimeout(killTimer);
  signalGroup(child, "SIGKILL");
  // A process that left the group (setsid) may hold the pipes open: do not wait for it forever.
  await Promise.race([
    closed,
    new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref()),
  ]);
  child.stdout?.destroy();
  child.stderr?.destroy();
  return { exit, timedOut, tail };
}

function withOutput(summary: string, output: string): string {
  const trimmed = output.trim();
  return trimmed === "" ? summary : `${summary}; last output:\n${trimmed}`;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch (error) {
    // ESRCH: the group is already gone.
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
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
