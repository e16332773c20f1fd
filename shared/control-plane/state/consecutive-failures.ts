/** What moves a target's breaker count, in the seq order of the events that caused it. */
export type BreakerInput = "attempt-failed" | "attempt-succeeded" | "circuit-reset";

/**
 * `consecutive_failures`: failed attempts since the target's last success or
 * `circuit.reset`. Platform failures count too: the breaker protects the target, not a task.
 */
export function consecutiveFailuresAfter(current: number, input: BreakerInput): number {
  if (input === "attempt-failed") return current + 1;
  return 0;
}
