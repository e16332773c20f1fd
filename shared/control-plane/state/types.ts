import type { AttemptStatus } from "../../events/types.ts";
import type { Projection } from "../../store/types.ts";
import type { Summary, TargetState } from "../types.ts";

/** `GET /v1/attempts/:id` without its records: the server reads `seqs` from the store. */
export interface AttemptMeta {
  attempt_id: string;
  task_id: string;
  target_id: string;
  attempt_number: number | null;
  status: AttemptStatus;
  pr_url: string | null;
  /** `seq` of every record about this attempt, in order. */
  seqs: number[];
}

/**
 * The control plane's query state (DESIGN §8), kept up to date record by record. Answers are
 * cached and frozen: read them, serialise them, copy them, but do not change them.
 */
export interface ControlPlaneState extends Projection {
  /** `GET /v1/graph/summary`. */
  summary(): Summary;
  /** `GET /v1/targets/:target`; zeros and empty maps for a target with no records. */
  target(targetId: string): TargetState;
  /** `GET /v1/attempts/:id` without records; undefined for an attempt no attempt event named. */
  attempt(attemptId: string): AttemptMeta | undefined;
}
