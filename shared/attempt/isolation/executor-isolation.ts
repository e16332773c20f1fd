import type { HandOver } from "../workspace/hand-over.ts";

/**
 * How the `command` executor is kept from the attempt's credentials, as recorded on
 * `attempt.started` and stated in the PR: its own container (a Job's `execute`), another user
 * in its own PID namespace, another user alone, or nothing (the attempt's own user).
 */
export type Isolation = "container" | "user" | "user+pid-namespace" | "none";

/** How to be sure, once the executor has exited, that nothing it started still runs. */
export type Sweep =
  /** The namespace dies with its first process; its launcher returns only once all are gone. */
  | { kind: "pid-namespace" }
  /** Every process of the executor's user is killed until none is left. */
  | { kind: "user"; uid: number }
  /** The executor's process group is killed (a process that left the group can survive). */
  | { kind: "process-group" };

/** A way to run the executor, decided once per attempt before it starts. */
export interface ExecutorIsolation {
  isolation: Isolation;
  /** The program and arguments that run `argv` isolated. */
  wrap(argv: readonly string[]): string[];
  /** How the executor's folder becomes its own. */
  handOver: HandOver;
  sweep: Sweep;
}

/** Isolation is required and cannot be had here: the attempt fails before the executor runs. */
export interface IsolationUnavailable {
  isolation: "none";
  unavailable: string;
}
