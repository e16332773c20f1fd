import { type AttemptFailure, attemptFailure, type ScopeViolation } from "./attempt-failure.ts";

/** `scope_violation` naming the first twenty paths and how many more there are. */
export function scopeViolation(violations: ScopeViolation[]): AttemptFailure {
  const listed = violations
    .slice(0, 20)
    .map((violation) => `${violation.path} (${violation.reason})`)
    .join("; ");
  const more = violations.length > 20 ? ` and ${violations.length - 20} more` : "";
  return attemptFailure("scope_violation", `outside the task's scope: ${listed}${more}`, {
    violations,
  });
}
