import type { AttemptStatus } from "../../events/types.ts";
import type { Projection } from "../../store/types.ts";
import type { Summary, TargetView } from "../types.ts";

/** `GET /v1/attempts/:id` without its records: the server reads `seqs` from the store. */
export interface AttemptMeta {
  attempt_id: string;
  task_id: string;
  target_id: string;
  attempt_number: number | null;
  status: AttemptStatus;
  pr_url: string | null;
  platform_failure: boolean;
  /** `seq` of every record about this attempt (its own events, PRs and artifacts), in order. */
  seqs: number[];
}

/**
 * The control plane's query state, kept up to date record by record.
 *
 * Answers are shared and describe the state when they were asked: serialise or copy one before
 * the next record is applied (the server replies synchronously, so it does). Never change one:
 * most parts are frozen, and a target's `tasks` map is the state's own, updated in place by
 * later queries, which is what keeps a query's cost to what changed since the last one.
 */
export interface ControlPlaneState extends Projection {
  /** `GET /v1/graph/summary`. */
  summary(): Summary;
  /** `GET /v1/targets/:target`; zeros and empty maps for a target with no records. */
  target(targetId: string): TargetView;
  /** Failed attempts by target and failure-reason label (see `failureReasonLabel`), for /metrics. */
  failuresByReason(): ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** Blocked tasks by target, for /metrics. */
  blockedTasks(): ReadonlyMap<string, number>;
  /** `GET /v1/attempts/:id` without records; undefined for an attempt no attempt event named. */
  attempt(attemptId: string): AttemptMeta | undefined;
}
