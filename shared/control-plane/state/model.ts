import type { AttemptStatus } from "../../events/types.ts";
import type {
  LastFailure,
  OpenPullRequest,
  Summary,
  TargetState,
  TargetSummary,
  TargetView,
  TaskDetail,
  TaskState,
} from "../types.ts";
import { createRecentEvents, type RecentEvents } from "./recent-events.ts";

/**
 * One attempt, compactly: no records, only the facts the queries need. There may be hundreds
 * of thousands of these, so fields that only running attempts need are dropped at the end.
 */
export interface AttemptEntry {
  id: string;
  target: TargetEntry;
  /** Null until an event names its task. */
  taskId: string | null;
  attemptNumber: number | null;
  /** Null while only a PR event has named it: it has no lifecycle (and no status) yet. */
  status: AttemptStatus | null;
  /** Global first-seen rank: orders attempts whose numbers tie or are unknown. */
  order: number;
  /** `timestamp` of its first event; null once it ended (only running attempts need it). */
  requestedAt: string | null;
  /** `timestamp` of `attempt.started`; null until then and once it ended. */
  startedAt: string | null;
  platformFailure: boolean;
  prUrl: string | null;
  seqs: number[];
}

export interface PullRequestEntry {
  /** Merged or closed: a late or repeated `pr.created` does not reopen it. */
  ended: boolean;
  /** Attempts that produced it, one PRODUCED edge each; almost always exactly one. */
  producers: string[];
}

/** An entry of `tasks`: a task some attempt event or `task.blocked` named. */
export interface TaskEntry {
  id: string;
  attempts: number;
  platformFailures: number;
  running: number;
  /** The attempt whose status is `last_status` (see `ranksAfter`). */
  last: AttemptEntry | null;
  blocked: boolean;
  /** The last `attempt.failed` applied for one of its attempts. */
  lastFailure: LastFailure | null;
  /** PRs its attempts opened, in the order they were first recorded. */
  prUrls: string[];
  /** Changed since its entry in the target's `tasksView` was last written. */
  stale: boolean;
  /** Changed since its entry in the target's `detailsView` was last written. */
  detailStale: boolean;
}

export interface TargetEntry {
  id: string;
  /** In the order they were first listed, which is the key order of `tasks`. */
  tasks: Map<string, TaskEntry>;
  /** Running attempts in the order their first attempt event was applied. */
  running: Map<string, AttemptEntry>;
  attemptsByStatus: Record<AttemptStatus, number>;
  consecutiveFailures: number;
  lastResetAt: string | null;
  lastEventAt: string | null;
  lastTickAt: string | null;
  lastSkipReason: string | null;
  /** The policy the latest tick ran under (`scheduler.decided` / `scheduler.skipped`). */
  scheduleCron: string | null;
  circuitBreakerFailures: number | null;
  /** Failed attempts by failure reason (a bounded set of labels, see `failureReasonLabel`). */
  failuresByReason: Map<string, number>;
  /** The last `MAX_RECENT_ATTEMPTS` attempts first named under this target, oldest first. */
  recentAttempts: AttemptEntry[];
  /** Only the open ones, in the order they opened: what the queries list. */
  openPullRequests: Map<string, OpenPullRequest>;
  /** Every PR URL any event of this target named: the graph's PullRequest nodes. */
  pullRequests: Map<string, PullRequestEntry>;
  /** Task ids any event of this target named: the graph's Task nodes. */
  taskNodes: Set<string>;
  /**
   * The `tasks` map every answer about this target shares. Kept, not rebuilt: a query rewrites
   * only the entries of `staleTasks`, so its cost is what changed, not the number of tasks.
   */
  tasksView: Record<string, TaskState>;
  /**
   * The console's detail of each task, kept like `tasksView` but written only when a target's
   * own answer is asked for: the summary never lists details, and most targets are never opened.
   */
  detailsView: Record<string, TaskDetail>;
  /** Tasks changed since the last query, in the order they first changed (new ones included). */
  staleTasks: TaskEntry[];
  /** The same for `detailsView`. */
  staleDetails: TaskEntry[];
  stateView: TargetState | null;
  view: TargetView | null;
  summaryView: TargetSummary | null;
}

export interface StateModel {
  targets: Map<string, TargetEntry>;
  attempts: Map<string, AttemptEntry>;
  /** Next first-seen rank. */
  nextOrder: number;
  /** Attempts whose task is known: each is one attempt→task DEPENDS_ON edge. */
  attemptsWithTask: number;
  taskNodes: number;
  pullRequestNodes: number;
  producedEdges: number;
  recent: RecentEvents;
  summaryView: Summary | null;
}

export function createModel(): StateModel {
  return {
    targets: new Map(),
    attempts: new Map(),
    nextOrder: 0,
    attemptsWithTask: 0,
    taskNodes: 0,
    pullRequestNodes: 0,
    producedEdges: 0,
    recent: createRecentEvents(),
    summaryView: null,
  };
}

export function emptyStatusCounts(): Record<AttemptStatus, number> {
  return { requested: 0, created: 0, running: 0, succeeded: 0, failed: 0 };
}

export function createTargetEntry(id: string): TargetEntry {
  return {
    id,
    tasks: new Map(),
    running: new Map(),
    attemptsByStatus: emptyStatusCounts(),
    consecutiveFailures: 0,
    lastResetAt: null,
    lastEventAt: null,
    lastTickAt: null,
    lastSkipReason: null,
    scheduleCron: null,
    circuitBreakerFailures: null,
    failuresByReason: new Map(),
    recentAttempts: [],
    openPullRequests: new Map(),
    pullRequests: new Map(),
    taskNodes: new Set(),
    tasksView: {},
    detailsView: {},
    staleTasks: [],
    staleDetails: [],
    stateView: null,
    view: null,
    summaryView: null,
  };
}

/** How many of a target's newest attempts its answer lists. */
export const MAX_RECENT_ATTEMPTS = 50;

export function rememberRecentAttempt(target: TargetEntry, attempt: AttemptEntry): void {
  target.recentAttempts.push(attempt);
  if (target.recentAttempts.length > MAX_RECENT_ATTEMPTS) target.recentAttempts.shift();
}

export function targetEntryFor(model: StateModel, targetId: string): TargetEntry {
  let target = model.targets.get(targetId);
  if (!target) {
    target = createTargetEntry(targetId);
    model.targets.set(targetId, target);
  }
  return target;
}

export function createTaskEntry(id: string): TaskEntry {
  return {
    id,
    attempts: 0,
    platformFailures: 0,
    running: 0,
    last: null,
    blocked: false,
    lastFailure: null,
    prUrls: [],
    stale: false,
    detailStale: false,
  };
}

export function taskEntryFor(target: TargetEntry, taskId: string): TaskEntry {
  let task = target.tasks.get(taskId);
  if (!task) {
    task = createTaskEntry(taskId);
    target.tasks.set(taskId, task);
    // Listed from the next query on, after the tasks listed before it.
    taskChanged(target, task);
  }
  return task;
}

/** Marks the task's entry in `tasks` to be rewritten by the next query (once, in order). */
export function taskChanged(target: TargetEntry, task: TaskEntry): void {
  if (!task.stale) {
    task.stale = true;
    target.staleTasks.push(task);
  }
  if (!task.detailStale) {
    task.detailStale = true;
    target.staleDetails.push(task);
  }
}

/** Drops the cached answers any record of this target makes stale. */
export function targetChanged(model: StateModel, target: TargetEntry): void {
  target.stateView = null;
  target.view = null;
  target.summaryView = null;
  model.summaryView = null;
}
