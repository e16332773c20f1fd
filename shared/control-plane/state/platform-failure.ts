import { failureKindOf } from "../../events/types.ts";
import type { LastFailure } from "../types.ts";

/** An error summary is kept to this many characters: enough to read, bounded in the state. */
export const MAX_ERROR_SUMMARY = 500;

/**
 * A failed attempt is not charged to its task when the platform failed it: the
 * payload's `failure_kind` says so, or, when it has none, its `reason` maps to a platform kind.
 */
export function isPlatformFailure(payload: Record<string, unknown>): boolean {
  const kind = payload.failure_kind;
  if (kind === "platform") return true;
  if (kind === "task") return false;
  const reason = payload.reason;
  return typeof reason === "string" && failureKindOf(reason) === "platform";
}

/** What a task's answer says of its last failure, from that `attempt.failed`. */
export function lastFailureOf(
  attemptId: string,
  at: string,
  payload: Record<string, unknown>,
): LastFailure {
  const reason =
    typeof payload.reason === "string" && payload.reason !== "" ? payload.reason : null;
  const summary = payload.error_summary;
  return Object.freeze({
    attempt_id: attemptId,
    reason,
    failure_kind: isPlatformFailure(payload) ? "platform" : "task",
    error_summary:
      typeof summary === "string" && summary !== "" ? summary.slice(0, MAX_ERROR_SUMMARY) : null,
    at,
  });
}
