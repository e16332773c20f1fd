import type { AutonomyConfig } from "../config/schema.ts";
import { attemptEventId, derivedEventId, skipEventId, tickDecisionEventId } from "../events/ids.ts";
import type { AttemptRequest, LeviathanEvent, SkipReason } from "../events/types.ts";
import type { Decision, Details, Skip } from "./types.ts";

/** `actor_id` of every event the tick records. */
export const SCHEDULER_ACTOR = "scheduler";

/** A skip event lists at most this many entries of any list in its details. */
export const MAX_LISTED_IN_EVENT = 100;

function schedulerEvent(
  eventId: string,
  eventType: string,
  now: Date,
  payload: Record<string, unknown>,
): LeviathanEvent {
  return {
    event_id: eventId,
    event_type: eventType,
    timestamp: now.toISOString(),
    actor_id: SCHEDULER_ACTOR,
    payload,
  };
}

/**
 * The policy a tick ran under, carried by each `scheduler.decided` and `scheduler.skipped`: the
 * control plane keeps the latest per target, so it can tell a stalled target (no tick for two
 * periods of `schedule_cron`) and an open breaker (`consecutive_failures` ≥
 * `circuit_breaker_failures`, the tick's own rule) without reading any config.
 */
export interface TickPolicy {
  schedule_cron: string;
  circuit_breaker_failures: number;
}

export function tickPolicyOf(config: AutonomyConfig): TickPolicy {
  return {
    schedule_cron: config.schedule_cron,
    circuit_breaker_failures: config.circuit_breaker_failures,
  };
}

/**
 * A tick skips every few minutes, so its event keeps lists short (a 1,000-task backlog would
 * otherwise store every reason each time); the printed decision keeps them whole.
 */
function boundDetails(details: Details): Details {
  const bounded: Details = {};
  for (const [key, value] of Object.entries(details)) {
    if (Array.isArray(value) && value.length > MAX_LISTED_IN_EVENT) {
      bounded[key] = value.slice(0, MAX_LISTED_IN_EVENT);
      bounded[`${key}_omitted`] = value.length - MAX_LISTED_IN_EVENT;
    } else {
      bounded[key] = value;
    }
  }
  return bounded;
}

/** `scheduler.skipped`; a redelivered tick (same id) with the same reason maps onto it. */
export function skipEvent(
  targetId: string,
  tickId: string,
  skip: Skip,
  now: Date,
  policy?: TickPolicy,
): LeviathanEvent {
  return schedulerEvent(skipEventId(tickId, skip.reason), "scheduler.skipped", now, {
    reason: skip.reason,
    target_id: targetId,
    tick_id: tickId,
    ...(skip.details ? { details: boundDetails(skip.details) } : {}),
    ...policy,
  });
}

/**
 * `scheduler.decided`: the tick's decision under an id derived from the tick id, the last thing
 * a tick records before it dispatches, and what a redelivery of the same ping answers with.
 */
export function decidedEvent(
  targetId: string,
  tickId: string,
  decision: Decision,
  now: Date,
  policy?: TickPolicy,
): LeviathanEvent {
  const { details, ...rest } = decision;
  return schedulerEvent(tickDecisionEventId(targetId, tickId), "scheduler.decided", now, {
    target_id: targetId,
    tick_id: tickId,
    decision: { ...rest, ...(details ? { details: boundDetails(details) } : {}) },
    ...policy,
  });
}

/** `attempt.requested`; its payload is also the data sent to the worker. */
export function attemptRequestedEvent(request: AttemptRequest, now: Date): LeviathanEvent {
  return schedulerEvent(
    attemptEventId(request.attempt_id, "attempt.requested"),
    "attempt.requested",
    now,
    { ...request },
  );
}

/** `task.blocked`, one per task and target: a repeat by another tick is a duplicate. */
export function taskBlockedEvent(
  targetId: string,
  taskId: string,
  attempts: number,
  now: Date,
): LeviathanEvent {
  return schedulerEvent(derivedEventId("task-blocked", targetId, taskId), "task.blocked", now, {
    task_id: taskId,
    target_id: targetId,
    attempts,
  });
}

const SKIP_REASONS: readonly SkipReason[] = [
  "autonomy_disabled",
  "circuit_open",
  "max_open_prs",
  "forge_unavailable",
  "max_running_attempts",
  "backlog_invalid",
  "no_ready_task",
];

/**
 * The decision a `scheduler.decided` event holds, rebuilt field by field: the control plane
 * checked its shape when it stored it, so anything else is a broken store.
 */
export function recordedDecision(recorded: Record<string, unknown>): Decision {
  const details = isRecord(recorded.details) ? { details: recorded.details } : {};
  const { action, task_id, attempt_id, attempt_number, reason } = recorded;
  if (
    action === "dispatch" &&
    typeof task_id === "string" &&
    typeof attempt_id === "string" &&
    typeof attempt_number === "number"
  ) {
    return {
      action,
      task_id,
      attempt_id,
      attempt_number,
      ...details,
      ...(recorded.dispatched === false ? { dispatched: false as const } : {}),
    };
  }
  const known = SKIP_REASONS.find((candidate) => candidate === reason);
  if (action === "skip" && known) return { action, reason: known, ...details };
  throw new Error(`a recorded decision of unknown shape (action ${JSON.stringify(action)})`);
}

/** The request an `attempt.requested` event carries, or undefined when its payload is not one. */
export function attemptRequestOf(payload: Record<string, unknown>): AttemptRequest | undefined {
  const { target_id, task_id, attempt_id, attempt_number, config } = payload;
  if (
    typeof target_id !== "string" ||
    typeof task_id !== "string" ||
    typeof attempt_id !== "string" ||
    typeof attempt_number !== "number" ||
    typeof config !== "string"
  ) {
    return undefined;
  }
  return { target_id, task_id, attempt_id, attempt_number, config };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
