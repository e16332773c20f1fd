import type { AttemptStatus } from "../../events/types.ts";
import type {
  AttemptSummary,
  RecentAttempt,
  Summary,
  TargetState,
  TargetSummary,
  TargetView,
  TaskDetail,
  TaskState,
} from "../types.ts";
import { graphCounts } from "./graph-counts.ts";
import type { AttemptEntry, StateModel, TargetEntry, TaskEntry } from "./model.ts";
import { newestFirst } from "./recent-events.ts";
import type { AttemptMeta } from "./types.ts";

// Answers are built from counters and cached until a record changes what they show (see
// `targetChanged`); a target's `tasks` map is kept and only its changed entries rewritten (see
// `taskChanged`). So a query costs what changed since the last one (plus the running attempts
// and open PRs it lists), never the length of history or the number of tasks. Every part but
// that shared map is frozen, because the same objects are handed to every caller.

/** Frozen at run time, typed as the contract's plain (mutable) shapes callers expect. */
function frozen<T extends object>(value: T): T {
  return Object.freeze(value) as T;
}

/**
 * Sets an own property whatever the key: task ids come from events, and `__proto__` is a valid
 * one (letters and underscores) that a plain assignment would turn into a prototype change.
 */
function setEntry<T>(record: Record<string, T>, key: string, value: T): void {
  if (key === "__proto__") {
    Object.defineProperty(record, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    record[key] = value;
  }
}

function taskStateOf(task: TaskEntry): TaskState {
  return frozen({
    attempts: task.attempts,
    charged_attempts: task.attempts - task.platformFailures,
    running: task.running > 0,
    last_status: task.last?.status ?? null,
    blocked: task.blocked,
  });
}

function taskDetailOf(task: TaskEntry): TaskDetail {
  return frozen({
    last_attempt_id: task.last?.id ?? null,
    last_attempt_order: task.last?.order ?? null,
    last_failure: task.lastFailure,
    pr_urls: frozen([...task.prUrls]),
  });
}

/** The target's shared `tasks` map, with the entries of the tasks that changed rewritten. */
export function tasksOf(target: TargetEntry): Record<string, TaskState> {
  for (const task of target.staleTasks) {
    setEntry(target.tasksView, task.id, taskStateOf(task));
    task.stale = false;
  }
  target.staleTasks.length = 0;
  return target.tasksView;
}

/** The target's shared `task_details` map, kept the same way as `tasksOf` keeps `tasks`. */
function detailsOf(target: TargetEntry): Record<string, TaskDetail> {
  for (const task of target.staleDetails) {
    setEntry(target.detailsView, task.id, taskDetailOf(task));
    task.detailStale = false;
  }
  target.staleDetails.length = 0;
  return target.detailsView;
}

/** The fallbacks never apply: a running attempt has a task, a status and its first time. */
function runningDetail(attempt: AttemptEntry): AttemptSummary {
  return frozen({
    attempt_id: attempt.id,
    task_id: attempt.taskId ?? "",
    attempt_number: attempt.attemptNumber,
    status: attempt.status ?? "requested",
    requested_at: attempt.requestedAt ?? "",
    started_at: attempt.startedAt,
    // A running attempt has not failed; the field is for callers that judge one.
    failure_reason: null,
  });
}

export function targetStateOf(target: TargetEntry): TargetState {
  target.stateView ??= frozen({
    target_id: target.id,
    tasks: tasksOf(target),
    running_attempts: frozen([...target.running.keys()]),
    consecutive_failures: target.consecutiveFailures,
    last_reset_at: target.lastResetAt,
    running_details: frozen([...target.running.values()].map(runningDetail)),
    open_pull_requests: frozen([...target.openPullRequests.values()]),
  });
  return target.stateView;
}

function recentAttemptOf(attempt: AttemptEntry): RecentAttempt {
  return frozen({
    attempt_id: attempt.id,
    task_id: attempt.taskId,
    attempt_number: attempt.attemptNumber,
    status: attempt.status,
    pr_url: attempt.prUrl,
    platform_failure: attempt.platformFailure,
  });
}

/** The tick's rule (`consecutive_failures >= circuit_breaker_failures`), once a tick said its threshold. */
function circuitOpen(target: TargetEntry): boolean | null {
  if (target.circuitBreakerFailures === null) return null;
  return target.consecutiveFailures >= target.circuitBreakerFailures;
}

/** `GET /v1/targets/:target`: the state and the console's fields (`stalled` is judged at reply). */
export function targetViewOf(target: TargetEntry): TargetView {
  if (target.view) return target.view;
  const state = targetStateOf(target);
  tasksOf(target);
  target.view = frozen({
    ...state,
    last_event_at: target.lastEventAt,
    last_tick_at: target.lastTickAt,
    last_skip_reason: target.lastSkipReason,
    schedule_cron: target.scheduleCron,
    circuit_breaker_failures: target.circuitBreakerFailures,
    circuit_open: circuitOpen(target),
    stalled_at: null,
    stalled: false,
    task_details: detailsOf(target),
    recent_attempts: frozen(
      target.recentAttempts
        .filter((a) => a.status !== null)
        .map(recentAttemptOf)
        .reverse(),
    ),
  });
  return target.view;
}

/** A target with no events gives zeros and empty maps. */
export function emptyTargetState(targetId: string): TargetView {
  return frozen({
    target_id: targetId,
    tasks: frozen({}),
    running_attempts: frozen([]),
    consecutive_failures: 0,
    last_reset_at: null,
    running_details: frozen([]),
    open_pull_requests: frozen([]),
    last_event_at: null,
    last_tick_at: null,
    last_skip_reason: null,
    schedule_cron: null,
    circuit_breaker_failures: null,
    circuit_open: null,
    stalled_at: null,
    stalled: false,
    task_details: frozen({}),
    recent_attempts: frozen([]),
  });
}

function nonZeroStatusCounts(
  counts: Record<AttemptStatus, number>,
): Partial<Record<AttemptStatus, number>> {
  const out: Partial<Record<AttemptStatus, number>> = {};
  for (const [status, n] of Object.entries(counts) as Array<[AttemptStatus, number]>) {
    if (n > 0) out[status] = n;
  }
  return frozen(out);
}

export function targetSummaryOf(target: TargetEntry): TargetSummary {
  if (!target.summaryView) {
    const state = targetStateOf(target);
    target.summaryView = frozen({
      tasks: state.tasks,
      running_attempts: state.running_attempts,
      consecutive_failures: target.consecutiveFailures,
      last_reset_at: target.lastResetAt,
      attempts_by_status: nonZeroStatusCounts(target.attemptsByStatus),
      open_prs: frozen([...target.openPullRequests.keys()]),
      last_event_at: target.lastEventAt,
      last_tick_at: target.lastTickAt,
      last_skip_reason: target.lastSkipReason,
      schedule_cron: target.scheduleCron,
      circuit_breaker_failures: target.circuitBreakerFailures,
      circuit_open: circuitOpen(target),
    });
  }
  return target.summaryView;
}

export function summaryOf(model: StateModel): Summary {
  if (!model.summaryView) {
    const targets: Record<string, TargetSummary> = {};
    for (const [targetId, target] of model.targets) {
      setEntry(targets, targetId, targetSummaryOf(target));
    }
    const { nodes_by_type, edges_by_type } = graphCounts(model);
    model.summaryView = frozen({
      nodes_by_type,
      edges_by_type,
      recent_events: frozen(newestFirst(model.recent)),
      targets: frozen(targets),
    });
  }
  return model.summaryView;
}

/** Undefined until an attempt event gave it a status: a PR event alone does not. */
export function attemptMetaOf(attempt: AttemptEntry | undefined): AttemptMeta | undefined {
  if (!attempt || attempt.status === null || attempt.taskId === null) return undefined;
  return {
    attempt_id: attempt.id,
    task_id: attempt.taskId,
    target_id: attempt.target.id,
    attempt_number: attempt.attemptNumber,
    status: attempt.status,
    pr_url: attempt.prUrl,
    platform_failure: attempt.platformFailure,
    seqs: [...attempt.seqs],
  };
}
