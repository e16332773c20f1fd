import type { AttemptEntry } from "./model.ts";

/**
 * Whether `a` is a later attempt of its task than `b`, for `last_status`: the higher
 * `attempt_number` wins; a known number beats an unknown one (so the order stays total); ties
 * and unknown numbers go to the attempt seen later.
 */
export function ranksAfter(a: AttemptEntry, b: AttemptEntry): boolean {
  if (a.attemptNumber !== null && b.attemptNumber !== null) {
    if (a.attemptNumber !== b.attemptNumber) return a.attemptNumber > b.attemptNumber;
    return a.order > b.order;
  }
  if (a.attemptNumber !== null) return true;
  if (b.attemptNumber !== null) return false;
  return a.order > b.order;
}
