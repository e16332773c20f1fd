import type { AttemptStatus, LeviathanEvent, StoredRecord } from "../events/types.ts";

/** `GET /v1/targets/:target` → `tasks[<task_id>]`. */
export interface TaskState {
  attempts: number;
  charged_attempts: number;
  running: boolean;
  last_status: AttemptStatus | null;
  blocked: boolean;
}

/** The last failure of one of a task's attempts, as its `attempt.failed` said. */
export interface LastFailure {
  attempt_id: string;
  /** `payload.reason`; null when the event gave none. */
  reason: string | null;
  failure_kind: "task" | "platform";
  /** `payload.error_summary`, cut to `MAX_ERROR_SUMMARY` characters; null when none. */
  error_summary: string | null;
  /** The event's `timestamp`. */
  at: string;
}

/** `task_details[<task_id>]` of `GET /v1/targets/:target`: what the console shows beside `tasks`. */
export interface TaskDetail {
  last_attempt_id: string | null;
  /** Global first-seen rank of that attempt: larger is newer (the console orders by it). */
  last_attempt_order: number | null;
  last_failure: LastFailure | null;
  pr_urls: string[];
}

/** One of `recent_attempts`, newest first. */
export interface RecentAttempt {
  attempt_id: string;
  task_id: string | null;
  attempt_number: number | null;
  status: AttemptStatus | null;
  pr_url: string | null;
  platform_failure: boolean;
}

/**
 * Extra fields of a target's answers (summary and `GET /v1/targets/:target`) for the console and
 * alerting: the policy the latest tick recorded (null before any tick recorded it), the breaker
 * judged by the tick's rule, and when the target counts as stalled. `stalled` is judged at the
 * time of the reply; the rest only changes with new records.
 */
export interface TargetHealth {
  schedule_cron: string | null;
  circuit_breaker_failures: number | null;
  /** `consecutive_failures >= circuit_breaker_failures`; null while the threshold is unknown. */
  circuit_open: boolean | null;
  /** When the target becomes stalled if no tick comes: two scheduled ticks after the last one. */
  stalled_at: string | null;
  stalled: boolean;
}

/** Detail the tick needs to reconcile; beyond the contract's fields, never instead of them. */
export interface AttemptSummary {
  attempt_id: string;
  task_id: string;
  attempt_number: number | null;
  status: AttemptStatus;
  /** `timestamp` of its first event (ISO, as sent). */
  requested_at: string;
  /** `timestamp` of `attempt.started`, if seen. */
  started_at: string | null;
  failure_reason: string | null;
}

export interface OpenPullRequest {
  pr_url: string;
  pr_number: number | null;
  task_id: string | null;
  attempt_id: string;
}

/** `GET /v1/targets/:target`, plus detail for the scheduler's reconciliation. */
export interface TargetState {
  target_id: string;
  tasks: Record<string, TaskState>;
  running_attempts: string[];
  consecutive_failures: number;
  last_reset_at: string | null;
  /** Extra: the running attempts in full, so the tick can judge deadlines. */
  running_details: AttemptSummary[];
  /** Extra: PRs the store knows as open, so the tick can close the loop on merged ones. */
  open_pull_requests: OpenPullRequest[];
}

/** `GET /v1/targets/:target` as the control plane answers it: the state plus the console's fields. */
export interface TargetView extends TargetState, TargetHealth {
  last_event_at: string | null;
  last_tick_at: string | null;
  last_skip_reason: string | null;
  task_details: Record<string, TaskDetail>;
  recent_attempts: RecentAttempt[];
}

export interface TargetSummary {
  tasks: Record<string, TaskState>;
  running_attempts: string[];
  consecutive_failures: number;
  last_reset_at: string | null;
  attempts_by_status: Partial<Record<AttemptStatus, number>>;
  open_prs: string[];
  last_event_at: string | null;
  last_tick_at: string | null;
  last_skip_reason: string | null;
  /** Extra (console, alerting): see `TargetHealth`. */
  schedule_cron?: string | null;
  circuit_breaker_failures?: number | null;
  circuit_open?: boolean | null;
  stalled_at?: string | null;
  stalled?: boolean;
}

export interface RecentEvent {
  event_id: string;
  timestamp: string;
  event_type: string;
  actor_id: string;
  target: string;
  attempt_id: string | null;
}

/** `GET /v1/graph/summary`. */
export interface Summary {
  nodes_by_type: Record<string, number>;
  edges_by_type: Record<string, number>;
  recent_events: RecentEvent[];
  targets: Record<string, TargetSummary>;
}

/** The attempt's properties as the graph projects them (`attempt_node` of an attempt's answer). */
export interface AttemptNode {
  attempt_id: string;
  task_id: string;
  target_id: string;
  attempt_number: number | null;
  status: AttemptStatus;
  pr_url: string | null;
  /** Failed for a reason charged to the platform, so not to its task (`charged_attempts`). */
  platform_failure: boolean;
}

/**
 * `GET /v1/attempts/:id`: the attempt, every record about it in order, and for the reference
 * implementation's clients the same as `attempt_node`, `events` (the records' events, oldest
 * first) and `artifacts` (the payloads of its `artifact.created` events).
 */
export interface AttemptView {
  attempt_id: string;
  task_id: string;
  target_id: string;
  attempt_number: number | null;
  status: AttemptStatus;
  pr_url: string | null;
  records: StoredRecord[];
  attempt_node: AttemptNode;
  events: LeviathanEvent[];
  artifacts: Array<Record<string, unknown>>;
}

/**
 * `GET /v1/targets/:target/ticks/:tick`: the decision recorded for one tick (its
 * `scheduler.decided` event), found by the id derived from the target and the tick id.
 */
export interface TickDecisionView {
  target_id: string;
  tick_id: string;
  /** As the tick recorded it: `tick --json`'s decision, long lists cut. */
  decision: Record<string, unknown>;
  record: StoredRecord;
}

/** `GET /v1/events`. */
export interface EventPage {
  records: StoredRecord[];
  next_after: number;
}

/** `GET /v1/store/head`: the chain's head now, and the latest checkpoint (null: none yet). */
export interface StoreHead {
  seq: number;
  hash: string | null;
  checkpoint_seq: number | null;
  checkpoint_mac: string | null;
}

/** Reply of both ingest routes. */
export interface IngestReply {
  ingested: number;
  duplicates: number;
  bundle_id: string | null;
  status: "ok";
}
