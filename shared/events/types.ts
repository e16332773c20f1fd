/** The seed event: what every producer sends and what the store keeps inside each record. */
export interface LeviathanEvent {
  event_id: string;
  event_type: string;
  /** ISO 8601; one without a zone is read as UTC and stored as sent. */
  timestamp: string;
  actor_id: string;
  payload: Record<string, unknown>;
}

/** One line of a segment file. `hash` covers every other field. */
export interface StoredRecord {
  seq: number;
  received_at: string;
  target: string;
  event: LeviathanEvent;
  prev_hash: string | null;
  hash: string;
}

export const KNOWN_EVENT_TYPES = [
  "attempt.requested",
  "attempt.created",
  "attempt.started",
  "attempt.succeeded",
  "attempt.failed",
  "pr.created",
  "pr.merged",
  "pr.closed",
  "scheduler.skipped",
  "scheduler.decided",
  "task.blocked",
  "circuit.reset",
  "artifact.created",
] as const;
export type KnownEventType = (typeof KNOWN_EVENT_TYPES)[number];

export type AttemptStatus = "requested" | "created" | "running" | "succeeded" | "failed";

export const TASK_FAILURE_REASONS = [
  "task_not_found",
  "executor_failed",
  "scope_violation",
  "nothing_to_commit",
  "change_too_large",
  "timeout",
] as const;
export const PLATFORM_FAILURE_REASONS = [
  "clone_failed",
  "push_failed",
  "pr_failed",
  "isolation_unavailable",
  "lost",
] as const;
export type TaskFailureReason = (typeof TASK_FAILURE_REASONS)[number];
export type PlatformFailureReason = (typeof PLATFORM_FAILURE_REASONS)[number];
export type FailureReason = TaskFailureReason | PlatformFailureReason;
export type FailureKind = "task" | "platform";

/** The one table that maps a failure reason to whom it is charged. */
export function failureKindOf(reason: string): FailureKind {
  return (PLATFORM_FAILURE_REASONS as readonly string[]).includes(reason) ? "platform" : "task";
}

/** Data of `attempt.requested` and of the CloudEvent the tick sends to the worker. */
export interface AttemptRequest {
  target_id: string;
  task_id: string;
  attempt_id: string;
  attempt_number: number;
  /** The config file's base name, e.g. `dev.yaml`. */
  config: string;
}

export type SkipReason =
  | "autonomy_disabled"
  | "circuit_open"
  | "max_open_prs"
  | "forge_unavailable"
  | "max_running_attempts"
  | "backlog_invalid"
  | "no_ready_task";
