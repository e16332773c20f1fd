import { attemptEventId } from "../events/ids.ts";
import type { LeviathanEvent } from "../events/types.ts";
import { redact } from "../log/logger.ts";

/** `actor_id` of every event the attempt records. */
export const ATTEMPT_ACTOR = "attempt";

/** The fields every attempt event's payload carries. */
export interface AttemptIdentity {
  attempt_id: string;
  task_id: string;
  target_id: string;
  /** Absent only when the Job was not told its number. */
  attempt_number?: number;
}

/**
 * One of the attempt's own events. Its id depends only on the attempt and the type, so a
 * retried pod's events are duplicates of the first run's (acknowledged, not stored twice).
 * Every string in the payload is redacted: the last line of defence for the tokens.
 */
export function attemptEvent(
  identity: AttemptIdentity,
  eventType: string,
  now: Date,
  secrets: readonly string[],
  extra: Record<string, unknown> = {},
): LeviathanEvent {
  return {
    event_id: attemptEventId(identity.attempt_id, eventType),
    event_type: eventType,
    timestamp: now.toISOString(),
    actor_id: ATTEMPT_ACTOR,
    payload: redactDeep({ ...extra, ...identity }, secrets) as Record<string, unknown>,
  };
}

/** Every string in a JSON-like value with each secret removed. */
export function redactDeep(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === "string") return redact(value, secrets);
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, secrets));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, redactDeep(item, secrets)]),
    );
  }
  return value;
}
