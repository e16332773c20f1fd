import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, open } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { errorMessage } from "../../errors/error-message.ts";
import { labelValue } from "../../events/ids.ts";
import type { Logger } from "../../log/logger.ts";
import { type KillRecord, signalGroup } from "../../process/signal-group.ts";
import { type GroupProcess, spawnGroup } from "../../process/spawn-group.ts";
import { stopGroup } from "../../process/stop-group.ts";
import { TARGET_LABEL } from "../build-attempt-job.ts";
import type { AttemptJob, JobRunner, JobStatus } from "../types.ts";
import {
  attemptProcessEnv,
  type ProcessJobSecrets,
  removeTokenFiles,
  resolveTokenFiles,
  tokenDirOf,
  writeTokenFiles,
} from "./attempt-process-env.ts";
import {
  claimStateFile,
  type ProcessJobState,
  readAllStateFiles,
  readStateFile,
  stateFilePath,
  writeStateFile,
} from "./job-state-file.ts";
import { type ProcessLiveness, probeProcess, processStartTime } from "./process-identity.ts";

export interface ProcessJobRunnerOptions {
  /** `<LEVIATHAN_HOME>`: state in `<home>/jobs/<name>.json`, output in `<home>/jobs/<name>.log`. */
  home: string;
  /** Default: `[node, <repo>/bin/leviathan.js, "attempt"]`. */
  command?: string[];
  /** Values of the shared Secrets a Job's token files name (its own Secret comes with the Job). */
  secrets: ProcessJobSecrets;
  logger?: Logger;
  /** Called once a child's exit is recorded. */
  onExit?: (name: string, code: number | null) => void;
  /** Between SIGTERM and SIGKILL when a deadline or `stopAll` ends a job. Default 5 s. */
  killGraceMs?: number;
}

export interface ProcessJobRunner extends JobRunner {
  /**
   * Ends every child this runner started and waits until each exit is recorded (local mode's
   * Ctrl-C). Without it children outlive the runner, as Jobs outlive a worker's restart.
   */
  stopAll(): Promise<void>;
}

/** Why a job ended when it did not exit on its own. */
export const DEADLINE_EXCEEDED = "DeadlineExceeded";
export const STOPPED = "stopped";
export const LOST = "lost";

/** `bin/leviathan.js` of this checkout, from the sources or from `dist/`. */
function defaultCommand(): string[] {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const bin = join(dir, "bin", "leviathan.js");
    if (existsSync(bin)) return [process.execPath, bin, "attempt"];
    dir = dirname(dir);
  }
  throw new Error("cannot find bin/leviathan.js above the process job runner");
}

function deadlineAt(state: ProcessJobState): number | undefined {
  if (!state.started_at) return undefined;
  return Date.parse(state.started_at) + state.deadline_seconds * 1000;
}

/**
 * What a state file says, checked against the live processes: a recorded exit decides; a
 * child that is gone without one was lost — unless the runner that started it still lives,
 * which is then about to record the exit.
 */
function phaseOf(
  state: ProcessJobState,
  child: ProcessLiveness | undefined,
  owner: ProcessLiveness,
): Pick<JobStatus, "phase" | "reason"> {
  if (state.finished_at) {
    if (state.exit_code === 0 && !state.reason) return { phase: "succeeded" };
    const why = state.signal ? `signal ${state.signal}` : `exit code ${state.exit_code}`;
    return { phase: "failed", reason: state.reason ?? why };
  }
  const ownerAlive = owner === "alive";
  if (state.pid === undefined)
    return ownerAlive ? { phase: "pending" } : { phase: "failed", reason: LOST };
  if (child === "alive" || ownerAlive) return { phase: "running" };
  return { phase: "failed", reason: state.reason ?? LOST };
}

function toJobStatus(
  state: ProcessJobState,
  phase: Pick<JobStatus, "phase" | "reason">,
): JobStatus {
  return {
    name: state.name,
    ...phase,
    ...(state.attempt_id ? { attemptId: state.attempt_id } : {}),
    ...(state.started_at ? { startedAt: state.started_at } : {}),
    ...(state.finished_at ? { finishedAt: state.finished_at } : {}),
  };
}

/**
 * Attempts as child processes with exactly the Job's environment, for local
 * mode. Each job's state lives in a file, so a repeat submit (from any process) is recognised
 * and another process — the tick — can read status and list.
 */
export function createProcessJobRunner(options: ProcessJobRunnerOptions): ProcessJobRunner {
  const jobsDir = join(options.home, "jobs");
  const graceMs = options.killGraceMs ?? 5_000;
  const log = options.logger;
  const ownStart = processStartTime(process.pid);
  const children = new Map<string, { child: ChildProcess; recorded: Promise<void> }>();
  const writes = new Map<string, Promise<void>>();

  /** Read-modify-write of one job's state, one at a time within this process. */
  function update(
    name: string,
    change: (state: ProcessJobState) => ProcessJobState,
  ): Promise<void> {
    const path = stateFilePath(jobsDir, name);
    const next = (writes.get(name) ?? Promise.resolve()).then(async () => {
      const state = await readStateFile(path);
      if (state) await writeStateFile(path, change(state));
    });
    writes.set(
      name,
      next.catch(() => undefined),
    );
    return next;
  }

  /** A kill that did not work is said, never dropped: the job may still be running. */
  function reportKill(name: string, kill: KillRecord): void {
    if (kill.result === "failed")
      log?.error({ job: name, ...kill }, "could not signal attempt process");
  }

  /**
   * SIGTERM to the job's whole process group now (git or an executor it started goes with
   * it), SIGKILL after the grace; the reason is recorded first.
   */
  async function terminate(name: string, pid: number, reason: string): Promise<void> {
    await update(name, (s) => (s.finished_at || s.reason ? s : { ...s, reason }));
    log?.warn({ job: name, pid, reason }, "ending attempt process");
    stopGroup(pid, { graceMs, record: (kill) => reportKill(name, kill) });
  }

  async function start(
    job: AttemptJob,
    tokens: ReturnType<typeof resolveTokenFiles>,
  ): Promise<void> {
    const [program, ...args] = options.command ?? defaultCommand();
    if (!program) throw new Error("the process runner's command is empty");
    const tokenDir = tokenDirOf(jobsDir, job.name);
    const env = attemptProcessEnv(job, await writeTokenFiles(tokenDir, tokens), process.env);
    // Not LEVIATHAN_HOME, where the control plane's token lives: the attempt picks its own folders.
    const cwd = "/";
    const output = await open(join(jobsDir, `${job.name}.log`), "a", 0o600);
    let group: GroupProcess;
    try {
      group = spawnGroup([program, ...args], {
        cwd,
        env,
        output: output.fd,
        tail: "none",
        onKillFailed: (kill) => reportKill(job.name, kill),
      });
    } finally {
      await output.close();
    }
    const child = group.child;
    const pid = group.pid;
    if (pid === undefined) {
      const exit = await group.exited;
      const error = exit.kind === "not_started" ? exit.error : new Error("no pid");
      const code = (error as NodeJS.ErrnoException).code ?? error.message;
      log?.error({ job: job.name, program, err: code }, "attempt process could not start");
      await removeTokenFiles(tokenDir);
      await update(job.name, (s) => ({
        ...s,
        finished_at: new Date().toISOString(),
        exit_code: null,
        reason: `cannot start: ${code}`,
      }));
      return;
    }
    // Never keep whoever started it alive for its sake; while this process lives, it records the exit.
    child.unref();
    const deadline = setTimeout(() => {
      terminate(job.name, pid, DEADLINE_EXCEEDED).catch((error: unknown) =>
        log?.error({ job: job.name, err: errorMessage(error) }, "deadline kill failed"),
      );
    }, job.deadlineSeconds * 1000);
    deadline.unref();
    const recorded = new Promise<void>((resolve) => {
      void group.exited.then((exit) => {
        const code = exit.kind === "exited" ? exit.code : null;
        const signal = exit.kind === "exited" ? exit.signal : null;
        clearTimeout(deadline);
        children.delete(job.name);
        log?.info({ job: job.name, pid, code, signal }, "attempt process exited");
        removeTokenFiles(tokenDir)
          .catch((error: unknown) =>
            log?.error({ job: job.name, err: errorMessage(error) }, "token files not removed"),
          )
          .then(() =>
            update(job.name, (s) => ({
              ...s,
              finished_at: new Date().toISOString(),
              exit_code: code,
              signal,
            })),
          )
          .then(() => options.onExit?.(job.name, code))
          .catch((error: unknown) =>
            log?.error({ job: job.name, err: errorMessage(error) }, "could not record exit"),
          )
          .finally(resolve);
      });
    });
    children.set(job.name, { child, recorded });
    const pidStart = (await processStartTime(pid)) ?? null;
    await update(job.name, (s) => ({
      ...s,
      pid,
      pid_start: pidStart,
      started_at: s.started_at ?? new Date().toISOString(),
    }));
    log?.info({ job: job.name, pid }, "attempt process started");
  }

  async function statusOf(state: ProcessJobState): Promise<JobStatus> {
    const child =
      state.pid === undefined ? undefined : await probeProcess(state.pid, state.pid_start);
    const owner = await probeProcess(state.runner.pid, state.runner.start);
    const phase = phaseOf(state, child, owner);
    // The deadline outlives the runner that set it: whoever looks after the owner died enforces it.
    const due = deadlineAt(state);
    if (phase.phase === "running" && owner !== "alive" && child === "alive" && due !== undefined) {
      if (Date.now() > due + graceMs && state.reason) {
        reportKill(state.name, signalGroup(state.pid!, "SIGKILL"));
      } else if (Date.now() > due && !state.reason)
        await terminate(state.name, state.pid!, DEADLINE_EXCEEDED);
    }
    return toJobStatus(state, phase);
  }

  return {
    async submit(job) {
      const path = stateFilePath(jobsDir, job.name);
      // Resolved before anything is written, so a missing secret leaves no job behind.
      const tokens = resolveTokenFiles(job, options.secrets);
      await mkdir(jobsDir, { recursive: true, mode: 0o700 });
      const attemptId = job.env.find((v) => v.name === "ATTEMPT_ID");
      const state: ProcessJobState = {
        name: job.name,
        labels: { ...job.labels },
        ...(attemptId && "value" in attemptId ? { attempt_id: attemptId.value } : {}),
        created_at: new Date().toISOString(),
        deadline_seconds: job.deadlineSeconds,
        runner: { pid: process.pid, start: (await ownStart) ?? null },
      };
      if (!(await claimStateFile(path, state))) {
        log?.info({ job: job.name }, "attempt process already submitted");
        return { created: false };
      }
      try {
        await start(job, tokens);
      } catch (error) {
        // Recorded as failed so the tick sees an ended job instead of one pending forever.
        await update(job.name, (s) => ({
          ...s,
          finished_at: new Date().toISOString(),
          exit_code: null,
          reason: `cannot start: ${errorMessage(error)}`,
        }));
        throw error;
      }
      return { created: true };
    },

    async status(name) {
      const state = await readStateFile(stateFilePath(jobsDir, name));
      if (!state) return { name, phase: "missing" };
      return statusOf(state);
    },

    async list(targetId) {
      const label = labelValue(targetId);
      const states = await readAllStateFiles(jobsDir);
      return Promise.all(states.filter((s) => s.labels[TARGET_LABEL] === label).map(statusOf));
    },

    async stopAll() {
      const running = [...children.entries()];
      await Promise.all(
        running.map(async ([name, { child, recorded }]) => {
          if (child.pid !== undefined) await terminate(name, child.pid, STOPPED);
          await recorded;
        }),
      );
    },
  };
}
