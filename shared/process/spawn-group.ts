import { type ChildProcess, spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import type { Readable, Writable } from "node:stream";
import { OutputTail } from "./output-tail.ts";
import { type KillRecord, signalGroup } from "./signal-group.ts";
import { type DeliverSignal, type StopInProgress, stopGroup } from "./stop-group.ts";

export const DEFAULT_KILL_GRACE_MS = 5_000;
export const DEFAULT_TAIL_CHARACTERS = 4_000;
/** After the leader exits, how long its output pipes may stay open (a stray child holds them). */
const DEFAULT_CLOSE_GRACE_MS = 2_000;
/** setTimeout's largest delay; a longer limit would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

export interface SpawnGroupOptions {
  cwd?: string;
  /** The child's whole environment: nothing is inherited unless the caller passes it. */
  env: Readonly<Record<string, string | undefined>>;
  /** `pipe` when the caller writes the child's input (`child.stdin`); default `ignore`. */
  stdin?: "ignore" | "pipe";
  /**
   * Where stdout and stderr go: `pipe` (default) or an open file descriptor both are written to.
   * Piped, both feed the tail unless `tail` says otherwise.
   */
  output?: "pipe" | number;
  /** Which piped streams the tail keeps: `stderr` when the caller reads stdout itself. */
  tail?: "both" | "stderr" | "none";
  /** Characters the tail keeps; default 4,000. */
  tailLimit?: number;
  /** Values replaced by `[redacted]` before the tail keeps them. */
  secrets?: ReadonlyArray<string | undefined>;
  /** From the start: at this limit the group is stopped and the run counts as timed out. */
  timeoutMs?: number;
  /** Between SIGTERM and SIGKILL when it is stopped; 0 is SIGKILL at once. Default 5 s. */
  killGraceMs?: number;
  /** How a stop signal reaches it; default the group (a PID namespace's launcher differs). */
  deliver?: DeliverSignal;
  /**
   * After the leader exited and its group was killed: whatever else must go (every process
   * of a user, say). Returns how many it could not end.
   */
  sweep?: () => Promise<number>;
  /**
   * After the leader exited, how long to wait for its pipes to close before they are cut (a
   * process that left the group may hold them). A caller that pauses stdout for a slow reader
   * gives it longer. Default 2 s.
   */
  closeGraceMs?: number;
  uid?: number;
  gid?: number;
  /** Called with each kill that failed, as it happens (it is also in the result). */
  onKillFailed?: (kill: KillRecord) => void;
}

export type ProcessExit =
  | { kind: "exited"; code: number | null; signal: NodeJS.Signals | null }
  | { kind: "not_started"; error: Error };

/** How a run ended, once nothing of it is left. */
export interface GroupResult {
  exit: ProcessExit;
  /** It was stopped at `timeoutMs`. */
  timedOut: boolean;
  /** `stop()` was called (by the caller or at the deadline). */
  stopped: boolean;
  /** Every signal sent, in order, and what each did. */
  kills: KillRecord[];
  /** The redacted end of its output. */
  tail: string;
  /** What `sweep` could not end (0 without one). */
  survivors: number;
  ms: number;
}

export interface GroupProcess {
  /** The child itself, for a caller that streams its input or output. */
  readonly child: ChildProcess;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly pid: number | undefined;
  /** The leader's exit (or failure to start); never rejects. */
  readonly exited: Promise<ProcessExit>;
  /** Settles when the leader exited, its group was killed, `sweep` ran and the pipes closed. */
  readonly done: Promise<GroupResult>;
  readonly kills: readonly KillRecord[];
  /** The tail so far. */
  tail(): string;
  /** SIGTERM to the group, SIGKILL after the grace; once. */
  stop(): void;
  /** One signal to the group now, recorded. */
  kill(signal: NodeJS.Signals): KillRecord;
}

/**
 * Starts `argv` (no shell) as the leader of its own process group, so one signal reaches
 * everything it starts; stops the group at the deadline; when the leader exits, SIGKILLs what
 * it left in the group. Every signal's outcome is recorded, a failed one reported to
 * `onKillFailed`. Output is kept as a bounded, redacted tail unless the caller reads it.
 */
export function spawnGroup(argv: readonly string[], options: SpawnGroupOptions): GroupProcess {
  const started = performance.now();
  const [program, ...args] = argv;
  if (!program) throw new Error("spawnGroup: no program given");
  const output = options.output ?? "pipe";
  const child = spawn(program, args, {
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    env: options.env,
    detached: true,
    stdio: [options.stdin ?? "ignore", output, output],
    ...(options.uid !== undefined ? { uid: options.uid } : {}),
    ...(options.gid !== undefined ? { gid: options.gid } : {}),
  });
  const tail = new OutputTail(options.tailLimit ?? DEFAULT_TAIL_CHARACTERS, options.secrets);
  const keeps = options.tail ?? "both";
  if (keeps === "both") child.stdout?.on("data", (chunk: Buffer) => tail.push(chunk));
  if (keeps !== "none") child.stderr?.on("data", (chunk: Buffer) => tail.push(chunk));

  const kills: KillRecord[] = [];
  const record = (kill: KillRecord) => {
    kills.push(kill);
    if (kill.result === "failed") options.onKillFailed?.(kill);
  };
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once("error", (error) => resolve({ kind: "not_started", error }));
    child.once("exit", (code, signal) => resolve({ kind: "exited", code, signal }));
  });
  const closed = new Promise<void>((resolve) => {
    child.once("close", () => resolve());
    child.once("error", () => resolve());
  });
  let leaderGone = false;
  void exited.then(() => {
    leaderGone = true;
  });

  let timedOut = false;
  let stopping: StopInProgress | undefined;
  const stop = () => {
    if (stopping || child.pid === undefined || leaderGone) return;
    stopping = stopGroup(child.pid, {
      graceMs: options.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
      record,
      ...(options.deliver ? { deliver: options.deliver } : {}),
    });
  };
  const deadline =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(
          () => {
            timedOut = true;
            stop();
          },
          Math.max(0, Math.min(options.timeoutMs, MAX_TIMER_MS)),
        );
  deadline?.unref();

  const done = exited.then(async (exit): Promise<GroupResult> => {
    clearTimeout(deadline);
    stopping?.cancel();
    let survivors = 0;
    if (exit.kind === "exited" && child.pid !== undefined) {
      // Whatever it left in its group goes with it.
      record(signalGroup(child.pid, "SIGKILL"));
      if (options.sweep) survivors = await options.sweep();
    }
    // Whatever still holds the pipes is dead or not ours: do not wait for it forever.
    await Promise.race([
      closed,
      new Promise((resolve) =>
        setTimeout(resolve, options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS).unref(),
      ),
    ]);
    child.stdout?.destroy();
    child.stderr?.destroy();
    return {
      exit,
      timedOut,
      stopped: stopping !== undefined,
      kills: [...kills],
      tail: tail.text(),
      survivors,
      ms: Math.round(performance.now() - started),
    };
  });

  return {
    child,
    stdin: child.stdin,
    stdout: child.stdout,
    pid: child.pid,
    exited,
    done,
    kills,
    tail: () => tail.text(),
    stop,
    kill(signal) {
      const kill =
        child.pid === undefined
          ? ({ target: 0, signal, result: "gone" } as const)
          : signalGroup(child.pid, signal);
      record(kill);
      return kill;
    },
  };
}
