import { PLATFORM_FAILURE_REASONS, TASK_FAILURE_REASONS } from "../../events/types.ts";

const KNOWN: ReadonlySet<string> = new Set([...TASK_FAILURE_REASONS, ...PLATFORM_FAILURE_REASONS]);

/**
 * The label a failure is counted under: its reason when it is one the platform defines, else
 * `other` (`unknown` when none was given), so an event cannot make the metrics' label set grow.
 */
export function failureReasonLabel(reason: string | null): string {
  if (reason === null) return "unknown";
  return KNOWN.has(reason) ? reason : "other";
}
