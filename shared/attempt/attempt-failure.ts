import {
  type FailureKind,
  type FailureReason,
  failureKindOf,
  type TaskFailureReason,
} from "../events/types.ts";
import { redact } from "../log/logger.ts";

/** One path that broke the task's scope, and why. */
export interface ScopeViolation {
  path: string;
  reason: string;
}

/** The kind a reason is charged as, so a mismatch does not compile. */
export type FailureKindFor<R extends FailureReason> = R extends TaskFailureReason
  ? "task"
  : "platform";

const MAX_SUMMARY = 4_000;

/**
 * THE error of an attempt: every step throws it (or has its error turned into it by
 * `toAttemptFailure`), and the attempt reports it as `attempt.failed`. `summary` must already
 * be free of secrets; it is cut to a size an event can carry.
 */
export class AttemptFailure<R extends FailureReason = FailureReason> extends Error {
  override readonly name = "AttemptFailure";
  readonly summary: string;
  readonly violations: readonly ScopeViolation[];

  constructor(
    readonly reason: R,
    readonly failureKind: FailureKindFor<R>,
    summary: string,
    options: { violations?: readonly ScopeViolation[]; cause?: unknown } = {},
  ) {
    super(summary.slice(0, MAX_SUMMARY), { cause: options.cause });
    if (failureKindOf(reason) !== failureKind) {
      throw new TypeError(`${reason} is a ${failureKindOf(reason)} failure, not ${failureKind}`);
    }
    this.summary = this.message;
    this.violations = options.violations ?? [];
  }

  /** The failure fields of `attempt.failed` (the caller adds the attempt's ids). */
  toPayload(): {
    reason: FailureReason;
    failure_kind: FailureKind;
    error_summary: string;
    paths?: string[];
    violations?: ScopeViolation[];
  } {
    const payload = {
      reason: this.reason,
      failure_kind: this.failureKind,
      error_summary: this.summary,
    };
    if (this.violations.length === 0) return payload;
    return {
      ...payload,
      paths: [...new Set(this.violations.map((violation) => violation.path))],
      violations: this.violations.map((violation) => ({ ...violation })),
    };
  }
}

/** An AttemptFailure whose kind is looked up from its reason. */
export function attemptFailure(
  reason: FailureReason,
  summary: string,
  options: { violations?: readonly ScopeViolation[]; cause?: unknown } = {},
): AttemptFailure {
  return new AttemptFailure(reason, failureKindOf(reason) as never, summary, options);
}

/**
 * Any error as an AttemptFailure: one passes through, anything else becomes `reason` with its
 * message redacted (a git or HTTP error can quote what it was sent).
 */
export function toAttemptFailure(
  error: unknown,
  reason: FailureReason,
  secrets: ReadonlyArray<string | undefined> = [],
): AttemptFailure {
  if (error instanceof AttemptFailure) return error;
  const message = error instanceof Error ? error.message : String(error);
  // No `cause`: a logger serialising the chain would print the unredacted original.
  return attemptFailure(reason, redact(message, secrets));
}
