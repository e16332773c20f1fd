import type { AttemptView } from "../control-plane/types.ts";
import type { AttemptRequest } from "../events/types.ts";
import { AttemptNotRecordedError } from "./worker-errors.ts";

/** Statuses of an attempt that may still get its Job (a redelivery finds it created or running). */
const RUNNABLE: ReadonlySet<string> = new Set(["requested", "created", "running"]);

/**
 * Whether the control plane's record of the attempt is the one requested: recorded at all, for
 * the same target, task and number, and not finished. Anyone holding the worker's token could
 * otherwise have a Job run for an attempt no tick decided on, or replay an old request and run
 * a finished attempt again. Throws `AttemptNotRecordedError` (403) when it is not.
 */
export function checkAttemptRecorded(
  request: AttemptRequest,
  recorded: AttemptView | undefined,
): void {
  const id = request.attempt_id;
  if (!recorded) {
    throw new AttemptNotRecordedError(
      `attempt ${id} is not recorded by the control plane; only a requested attempt gets a Job`,
    );
  }
  const mismatches = (["target_id", "task_id", "attempt_number"] as const)
    .filter((field) => recorded[field] !== request[field])
    .map((field) => `${field} ${JSON.stringify(recorded[field])}`);
  if (mismatches.length > 0) {
    throw new AttemptNotRecordedError(
      `attempt ${id} is recorded with ${mismatches.join(", ")}, not as requested`,
    );
  }
  if (!RUNNABLE.has(recorded.status)) {
    throw new AttemptNotRecordedError(
      `attempt ${id} has already ${recorded.status}; a finished attempt is not run again`,
    );
  }
}
