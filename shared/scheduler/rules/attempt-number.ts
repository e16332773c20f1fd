import type { TargetState } from "../../control-plane/types.ts";

/**
 * Rule 6: every previous attempt counts, platform failures included, so a number
 * (and the attempt id derived from it) never repeats.
 */
export function nextAttemptNumber(target: TargetState, taskId: string): number {
  return (target.tasks[taskId]?.attempts ?? 0) + 1;
}
