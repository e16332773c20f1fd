import { performance } from "node:perf_hooks";
import type { ControlPlaneClient } from "../control-plane/client/control-plane-client.ts";
import { errorMessage } from "../errors/error-message.ts";
import type { FailureReason, LeviathanEvent } from "../events/types.ts";
import type { Forge } from "../forge/types.ts";
import { tokenForms } from "../git/git-environment.ts";
import { type Logger, redact } from "../log/logger.ts";
import type { AttemptEnv } from "./attempt-env.ts";
import { type AttemptIdentity, attemptEvent } from "./attempt-events.ts";
import { type AttemptFailure, attemptFailure, toAttemptFailure } from "./attempt-failure.ts";

export interface AttemptDependencies {
  /** Where the attempt's events go (retried with backoff, idempotent by event id). */
  controlPlane: Pick<ControlPlaneClient, "postEvents">;
  forge: Forge;
  logger: Logger;
  /** Event timestamps and the write-back's `completed_at`; deadlines use the real clock. */
  now?: () => Date;
  limits?: Partial<AttemptLimits>;
}

/** Per-step time limits; each is further cut to what is left of the attempt's deadline. */
export interface AttemptLimits {
  cloneMs: number;
  pushMs: number;
  /** Local git commands (ls-tree, update-index, commit-tree …). */
  gitMs: number;
  /** Each forge call, the client's retries included. */
  forgeMs: number;
}

/** What every phase of one attempt works with. */
export interface AttemptContext {
  env: AttemptEnv;
  deps: AttemptDependencies;
  logger: Logger;
  /** Every form of every token this attempt holds, for redaction. */
  secrets: string[];
  clock: AttemptClock;
  limits: AttemptLimits;
  now: () => Date;
  /** One of the attempt's own events, redacted. */
  event(type: string, extra?: Record<string, unknown>): LeviathanEvent;
  record(events: LeviathanEvent[]): Promise<void>;
}

export function createAttemptContext(
  env: AttemptEnv,
  deps: AttemptDependencies,
  defaults: AttemptLimits,
  startedAt: Date = new Date(),
): AttemptContext {
  const now = deps.now ?? (() => new Date());
  const secrets = [...tokenForms(env.githubToken), ...tokenForms(env.controlPlaneToken)];
  const identity: AttemptIdentity = {
    attempt_id: env.attemptId,
    task_id: env.taskId,
    target_id: env.targetName,
    ...(env.attemptNumber === undefined ? {} : { attempt_number: env.attemptNumber }),
  };
  return {
    env,
    deps,
    // The attempt id names the task too; executors add `task_id` to their own lines.
    logger: deps.logger.child({ attempt_id: env.attemptId }),
    secrets,
    // The real clock, whatever `now` says: executors and timers measure against it.
    clock: new AttemptClock(startedAt, env.attemptTimeoutSeconds),
    limits: { ...defaults, ...deps.limits },
    now,
    event: (type, extra = {}) => attemptEvent(identity, type, now(), secrets, extra),
    record: async (events) => {
      await deps.controlPlane.postEvents(env.targetName, events);
    },
  };
}

/**
 * The attempt's deadline, a little before `ATTEMPT_TIMEOUT_SECONDS` runs out (the Job's
 * `activeDeadlineSeconds` is the same number and counts from earlier), so that a step stopped
 * at the deadline still leaves time to record `attempt.failed`.
 */
export class AttemptClock {
  readonly deadline: Date;

  constructor(
    readonly started: Date,
    timeoutSeconds: number,
  ) {
    const reserveMs = Math.min(30_000, timeoutSeconds * 100);
    this.deadline = new Date(started.getTime() + timeoutSeconds * 1000 - reserveMs);
  }

  /** `stepMs` cut to the time left; `timeout` when none is left. */
  limit(step: string, stepMs: number): number {
    return Math.max(1, Math.min(stepMs, this.ensureTimeLeft(step)));
  }

  /**
   * A step's error as its failure: `timeout` when the attempt's deadline has passed (the step
   * was cut short by it, not by the forge), else `reason`.
   */
  blame(error: unknown, reason: FailureReason, secrets: readonly string[]): AttemptFailure {
    const failure = toAttemptFailure(error, reason, secrets);
    if (failure.reason === "timeout" || Date.now() < this.deadline.getTime()) return failure;
    const message = redact(errorMessage(error), secrets);
    return attemptFailure("timeout", `the attempt's deadline passed: ${message}`);
  }

  /** The milliseconds left; `timeout` when none are. */
  ensureTimeLeft(step: string): number {
    const left = this.deadline.getTime() - Date.now();
    if (left <= 0) {
      throw attemptFailure("timeout", `the attempt's deadline passed before ${step}`);
    }
    return left;
  }
}

/** Runs one step and logs a line a person can follow: its name, outcome and duration. */
export async function step<T>(
  context: Pick<AttemptContext, "logger" | "secrets">,
  name: string,
  body: () => Promise<T>,
): Promise<T> {
  const started = performance.now();
  try {
    const value = await body();
    context.logger.info(
      { step: name, ms: Math.round(performance.now() - started) },
      `${name}: done`,
    );
    return value;
  } catch (error) {
    context.logger.warn(
      {
        step: name,
        ms: Math.round(performance.now() - started),
        error: redact(errorMessage(error), context.secrets),
      },
      `${name}: failed`,
    );
    throw error;
  }
}
