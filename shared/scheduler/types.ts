import type { BacklogParse } from "../backlog/types.ts";
import type { AutonomyConfig } from "../config/schema.ts";
import type { TargetState } from "../control-plane/types.ts";
import type { AttemptRequest, LeviathanEvent, SkipReason } from "../events/types.ts";
import type { PullRequest } from "../forge/types.ts";

/** Everything one tick's decision depends on, gathered beforehand by the I/O layer. */
export interface DecisionInput {
  config: AutonomyConfig;
  /** The config file's base name (`dev.yaml`), carried in `attempt.requested`. */
  configName: string;
  /** Parsed backlog, or `unreadableBacklog(…)` when it could not be read. */
  backlog: BacklogParse;
  /** Every open PR of the target repository, or "unavailable" when the forge could not answer. */
  openPullRequests: PullRequest[] | "unavailable";
  /** `GET /v1/targets/:target`, after reconciliation (see `applyReconciliation`). */
  target: TargetState;
  /** The ping's CloudEvent id, or a fresh id for a tick started from the CLI. */
  tickId: string;
  now: Date;
}

export type Details = Record<string, unknown>;

/**
 * What `tick --json` prints and the tick's HTTP reply carries. `replayed`: the tick id had a
 * decision recorded already, and this is it (nothing new was recorded or sent). `dispatched:
 * false`: another tick had already requested the same attempt, so this one sent nothing.
 */
export type Decision =
  | {
      action: "dispatch";
      task_id: string;
      attempt_id: string;
      attempt_number: number;
      details?: Details;
      dispatched?: false;
      replayed?: true;
    }
  | { action: "skip"; reason: SkipReason; details?: Details; replayed?: true };

/**
 * A decision and the events the tick must record for it, in order (e.g. `task.blocked`, then
 * `scheduler.skipped` or `attempt.requested`). Kept apart so the decision prints on its own,
 * without the events.
 */
export interface TickPlan {
  decision: Decision;
  events: LeviathanEvent[];
  /**
   * On a dispatch: the request the worker is sent, and its `attempt.requested` event (the last
   * of `events`), which the tick records alone, before sending.
   */
  dispatch?: { request: AttemptRequest; event: LeviathanEvent };
}

/** A guardrail that stops the tick: the skip reason and what explains it. */
export interface Skip {
  reason: SkipReason;
  details?: Details;
}

export type IneligibleReason =
  | "invalid_task"
  | "not_ready"
  | "status_not_pending"
  | "dependencies_not_completed"
  | "paths_not_allowed"
  | "attempt_running"
  | "open_pull_request"
  | "attempts_exhausted";

/** Why one task was passed over; listed in a decision's `details.ineligible`. */
export interface IneligibleTask {
  task_id: string;
  line: number;
  reason: IneligibleReason;
  message: string;
}
