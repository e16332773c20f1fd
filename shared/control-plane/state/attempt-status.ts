import type { AttemptStatus } from "../../events/types.ts";

/** The status each attempt event announces. */
export const STATUS_OF_EVENT: Readonly<Record<string, AttemptStatus>> = {
  "attempt.requested": "requested",
  "attempt.created": "created",
  "attempt.started": "running",
  "attempt.succeeded": "succeeded",
  "attempt.failed": "failed",
};

const RANK: Readonly<Record<AttemptStatus, number>> = {
  requested: 0,
  created: 1,
  running: 2,
  succeeded: 3,
  failed: 3,
};

export function isTerminal(status: AttemptStatus): boolean {
  return status === "succeeded" || status === "failed";
}

/** An attempt is running until it succeeded or failed, whether or not it has started. */
export function isRunning(status: AttemptStatus | null): boolean {
  return status !== null && !isTerminal(status);
}

/**
 * Status only moves forward: a retried post of an earlier event does not move it back, and the
 * first terminal event wins (a late success after a recorded timeout changes nothing).
 */
export function advanceStatus(
  current: AttemptStatus | null,
  announced: AttemptStatus,
): AttemptStatus {
  if (current === null) return announced;
  if (isTerminal(current)) return current;
  return RANK[announced] > RANK[current] ? announced : current;
}
