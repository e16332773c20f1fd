import { createHash } from "node:crypto";

function hex8(...parts: Array<string | number>): string {
  return createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, 8);
}

/** `attempt-<task_id>-<8 hex>`, the same for the same (target, task, number). */
export function attemptIdFor(targetId: string, taskId: string, attemptNumber: number): string {
  return `attempt-${taskId}-${hex8(targetId, taskId, attemptNumber)}`;
}

/** Id of one of an attempt's own events, e.g. `attempt.requested` or `attempt.failed`. */
export function attemptEventId(attemptId: string, eventType: string): string {
  return `${attemptId}.${eventType}`;
}

/** Id of a skip: the same tick (a redelivered ping) and reason give the same id. */
export function skipEventId(tickId: string, reason: string): string {
  return derivedEventId("skip", tickId, reason);
}

/**
 * Id of a tick's `scheduler.decided`: one per tick id and target, so a redelivered ping finds
 * the decision its first delivery recorded, and a second record of it is a duplicate.
 */
export function tickDecisionEventId(targetId: string, tickId: string): string {
  return derivedEventId("decided", targetId, tickId);
}

/** Id of an event derived from other facts (task blocked, PR closed …): stable per input. */
export function derivedEventId(kind: string, ...parts: Array<string | number>): string {
  return `${kind}-${createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, 16)}`;
}

const MAX_NAME = 63;

/**
 * Lowercase, every character outside [a-z0-9-] made `-`, and cut in the middle so the whole
 * is at most 63 characters with the last 9 (`-` and the 8-hex tail of an attempt id) kept.
 */
export function kubernetesSafe(value: string): string {
  let safe = value.toLowerCase().replace(/[^a-z0-9-]/g, "-");
  if (safe.length > MAX_NAME) safe = safe.slice(0, MAX_NAME - 9) + safe.slice(-9);
  // Names and label values must start and end with an alphanumeric character.
  return safe.replace(/^-+/, "").replace(/-+$/, "") || "x";
}

/** `worker-<attempt_id>`, Kubernetes-safe, ≤ 63 characters. */
export function jobNameFor(attemptId: string): string {
  return kubernetesSafe(`worker-${attemptId}`);
}

/** Label values follow the same rule as Job names. */
export const labelValue = kubernetesSafe;
