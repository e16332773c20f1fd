import type { AttemptSummary, TargetState } from "../control-plane/types.ts";
import { attemptEventId, jobNameFor } from "../events/ids.ts";
import { timestampMillis } from "../events/iso-timestamp.ts";
import type { FailureKind, LeviathanEvent } from "../events/types.ts";
import type { JobStatus } from "../jobs/types.ts";
import { SCHEDULER_ACTOR } from "./scheduler-events.ts";

/** Added to `attempt_timeout_seconds` so an attempt reporting at its deadline is not raced. */
export const DEFAULT_GRACE_SECONDS = 120;

export interface ReconciliationInput {
  /** `GET /v1/targets/:target`, read AFTER the Jobs were listed (see below). */
  target: TargetState;
  /**
   * The target's Jobs from the job runner, or "unavailable" when they cannot be listed: then
   * only deadlines are judged. List them BEFORE reading the target state: a Job seen as ended
   * had sent its last event before it exited, so that event is already in the state read
   * after, and a finished attempt is never mistaken for a lost one.
   */
  jobs: JobStatus[] | "unavailable";
  now: Date;
  attemptTimeoutSeconds: number;
  graceSeconds: number;
}

interface Verdict {
  reason: "timeout" | "lost";
  failure_kind: FailureKind;
  error_summary: string;
}

function timeout(summary: string): Verdict {
  return { reason: "timeout", failure_kind: "task", error_summary: summary };
}

function lost(summary: string): Verdict {
  return { reason: "lost", failure_kind: "platform", error_summary: summary };
}

/** Why a running attempt must be failed now, or null while it may still report. */
function judge(
  attempt: AttemptSummary,
  job: JobStatus | undefined,
  jobsKnown: boolean,
  input: ReconciliationInput,
): Verdict | null {
  const since = attempt.started_at ?? attempt.requested_at;
  const elapsed = Math.floor((input.now.getTime() - timestampMillis(since)) / 1000);
  const limit = input.attemptTimeoutSeconds + input.graceSeconds;
  const overdue = elapsed > limit;
  const overdueSummary = `no terminal event ${elapsed} s after ${attempt.started_at ? "it started" : "it was requested"} (deadline ${input.attemptTimeoutSeconds} s + ${input.graceSeconds} s grace)`;
  if (!jobsKnown) return overdue ? timeout(overdueSummary) : null;

  const jobName = jobNameFor(attempt.attempt_id);
  if (!job || job.phase === "missing") {
    // The worker may not have created it yet: only a requested attempt within its deadline waits.
    if (attempt.status === "requested" && !overdue) return null;
    return lost(`Job ${jobName} does not exist and the attempt reported no end`);
  }
  if (job.phase === "succeeded" || job.phase === "failed") {
    // Killed at activeDeadlineSeconds: the task ran out of time, it did not get lost.
    if (job.reason === "DeadlineExceeded") {
      return timeout(`Job ${jobName} passed its deadline without a terminal event`);
    }
    const why = job.reason ? `: ${job.reason}` : "";
    return lost(`Job ${jobName} ended (${job.phase}${why}) without a terminal event`);
  }
  return overdue ? timeout(overdueSummary) : null;
}

/**
 * Before selection: `attempt.failed` for each running attempt that passed its
 * deadline plus grace (`timeout`, a task failure) or whose Job ended or vanished without
 * reporting (`lost`, a platform failure; judged only when the Jobs are known). Pure; ids are
 * the attempt's own, so a concurrent tick records the same events, not more.
 */
export function planReconciliation(input: ReconciliationInput): LeviathanEvent[] {
  const jobsKnown = input.jobs !== "unavailable";
  const jobs = new Map<string, JobStatus>();
  if (input.jobs !== "unavailable") {
    for (const job of input.jobs) jobs.set(job.name, job);
  }
  const events: LeviathanEvent[] = [];
  for (const attempt of input.target.running_details) {
    const job = jobs.get(jobNameFor(attempt.attempt_id));
    const verdict = judge(attempt, job, jobsKnown, input);
    if (!verdict) continue;
    events.push({
      event_id: attemptEventId(attempt.attempt_id, "attempt.failed"),
      event_type: "attempt.failed",
      timestamp: input.now.toISOString(),
      actor_id: SCHEDULER_ACTOR,
      payload: {
        attempt_id: attempt.attempt_id,
        task_id: attempt.task_id,
        target_id: input.target.target_id,
        ...(attempt.attempt_number === null ? {} : { attempt_number: attempt.attempt_number }),
        ...verdict,
      },
    });
  }
  return events;
}

/**
 * The target state as the control plane will project it once `failed` (from
 * `planReconciliation`) is recorded, so the decision sees it without a second read and a dry
 * run decides exactly as a real tick would. As the control plane projects it: the attempt stops
 * running, the task's last status is `failed`, a platform failure is no longer charged (a
 * running attempt is), and every failure adds one to `consecutive_failures`.
 */
export function applyReconciliation(target: TargetState, failed: LeviathanEvent[]): TargetState {
  const ended = new Map<string, LeviathanEvent>();
  for (const event of failed) {
    const id = event.payload.attempt_id;
    if (event.event_type === "attempt.failed" && typeof id === "string") ended.set(id, event);
  }
  const endedRunning = target.running_details.filter((a) => ended.has(a.attempt_id));
  if (endedRunning.length === 0) return target;

  const running_details = target.running_details.filter((a) => !ended.has(a.attempt_id));
  const tasks = { ...target.tasks };
  for (const attempt of endedRunning) {
    const state = tasks[attempt.task_id];
    if (!state) continue;
    const platform = ended.get(attempt.attempt_id)?.payload.failure_kind === "platform";
    tasks[attempt.task_id] = {
      ...state,
      charged_attempts: platform ? Math.max(0, state.charged_attempts - 1) : state.charged_attempts,
      running: running_details.some((a) => a.task_id === attempt.task_id),
      last_status: "failed",
    };
  }
  return {
    ...target,
    tasks,
    running_attempts: target.running_attempts.filter((id) => !ended.has(id)),
    running_details,
    consecutive_failures: target.consecutive_failures + endedRunning.length,
  };
}
