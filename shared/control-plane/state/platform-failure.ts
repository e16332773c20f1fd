import { failureKindOf } from "../../events/types.ts";

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
