import type { AttemptStatus } from "../../events/types.ts";
import type { LastFailure, OpenPullRequest, RecentEvent } from "../types.ts";
import { isRunning, STATUS_OF_EVENT } from "./attempt-status.ts";
import { ranksAfter } from "./last-attempt.ts";
import {
  type AttemptEntry,
  createModel,
  createTargetEntry,
  createTaskEntry,
  rememberRecentAttempt,
  type StateModel,
  type TargetEntry,
  taskChanged,
} from "./model.ts";
import { newestFirst, pushRecentEvent } from "./recent-events.ts";

// The snapshot keeps the facts that cannot be derived (statuses, orders, the breaker count,
// PR sets, graph keys) and leaves out what can (per-task counters, status counts, totals):
// restore derives those the same way apply keeps them, so both give the same state.
// Attempts are tuples, not objects: there may be hundreds of thousands of them.

/**
 * 2: an attempt's `seqs` hold its `artifact.created` records too. 3: a target keeps the tick's
 * policy and its failures by reason, a task its last failure and PRs. An older one is replayed
 * instead.
 */
export const SNAPSHOT_VERSION = 3;

type AttemptTuple = [
  id: string,
  target: number,
  taskId: string | null,
  attemptNumber: number | null,
  status: AttemptStatus | null,
  order: number,
  requestedAt: string | null,
  startedAt: string | null,
  platformFailure: 0 | 1,
  prUrl: string | null,
  seqs: number[],
];

interface TargetSnapshot {
  id: string;
  consecutive_failures: number;
  last_reset_at: string | null;
  last_event_at: string | null;
  last_tick_at: string | null;
  last_skip_reason: string | null;
  schedule_cron: string | null;
  circuit_breaker_failures: number | null;
  /** `[reason label, failed attempts]`. */
  failures_by_reason: Array<[string, number]>;
  /** `[task id, blocked, last failure, PR urls]`, in the key order of `tasks`. */
  tasks: Array<[string, 0 | 1, LastFailure | null, string[]]>;
  running: string[];
  open_pull_requests: OpenPullRequest[];
  /** `[pr url, ended, attempt ids that produced it]`, every PR named. */
  pull_requests: Array<[string, 0 | 1, string[]]>;
  task_nodes: string[];
}

export interface StateSnapshot {
  version: typeof SNAPSHOT_VERSION;
  next_order: number;
  /** Oldest first. */
  recent: RecentEvent[];
  targets: TargetSnapshot[];
  attempts: AttemptTuple[];
}

/** Shares arrays with the live state: serialise it at once, as the event store does. */
export function snapshotOf(model: StateModel): StateSnapshot {
  const targetIndex = new Map<TargetEntry, number>();
  const targets: TargetSnapshot[] = [];
  for (const target of model.targets.values()) {
    targetIndex.set(target, targets.length);
    targets.push({
      id: target.id,
      consecutive_failures: target.consecutiveFailures,
      last_reset_at: target.lastResetAt,
      last_event_at: target.lastEventAt,
      last_tick_at: target.lastTickAt,
      last_skip_reason: target.lastSkipReason,
      schedule_cron: target.scheduleCron,
      circuit_breaker_failures: target.circuitBreakerFailures,
      failures_by_reason: [...target.failuresByReason],
      tasks: [...target.tasks.values()].map((task) => [
        task.id,
        task.blocked ? 1 : 0,
        task.lastFailure,
        task.prUrls,
      ]),
      running: [...target.running.keys()],
      open_pull_requests: [...target.openPullRequests.values()],
      pull_requests: [...target.pullRequests].map(([url, pr]) => [
        url,
        pr.ended ? 1 : 0,
        pr.producers,
      ]),
      task_nodes: [...target.taskNodes],
    });
  }
  const attempts: AttemptTuple[] = [];
  for (const a of model.attempts.values()) {
    attempts.push([
      a.id,
      targetIndex.get(a.target)!,
      a.taskId,
      a.attemptNumber,
      a.status,
      a.order,
      a.requestedAt,
      a.startedAt,
      a.platformFailure ? 1 : 0,
      a.prUrl,
      a.seqs,
    ]);
  }
  return {
    version: SNAPSHOT_VERSION,
    next_order: model.nextOrder,
    recent: newestFirst(model.recent).reverse(),
    targets,
    attempts,
  };
}

class SnapshotError extends Error {
  override readonly name = "SnapshotError";
  constructor(problem: string) {
    super(`control-plane-state snapshot: ${problem}`);
  }
}

/**
 * JSON.parse gives every occurrence of an id or URL its own string; apply shares one instance
 * (attempt ids in PR entries, task ids in attempts, URLs in attempts and PR maps). Without
 * this a restored state holds about 14% more memory than the live one it came from.
 */
type Intern = (value: string) => string;

function createIntern(): Intern {
  const seen = new Map<string, string>();
  return (value) => {
    const known = seen.get(value);
    if (known !== undefined) return known;
    seen.set(value, value);
    return value;
  };
}

/** A new model from a snapshot; throws a SnapshotError naming the first problem it finds. */
export function modelFromSnapshot(value: unknown): StateModel {
  const intern = createIntern();
  const snapshot = record(value, "snapshot");
  if (snapshot.version !== SNAPSHOT_VERSION) {
    throw new SnapshotError(`version ${String(snapshot.version)} is not ${SNAPSHOT_VERSION}`);
  }
  const model = createModel();
  model.nextOrder = integer(snapshot.next_order, "next_order");
  for (const [i, event] of list(snapshot.recent, "recent").entries()) {
    pushRecentEvent(model.recent, Object.freeze(recentEvent(event, `recent[${i}]`)));
  }
  const targets = list(snapshot.targets, "targets").map((t, i) =>
    restoreTarget(model, t, `targets[${i}]`, intern),
  );
  for (const [i, tuple] of list(snapshot.attempts, "attempts").entries()) {
    restoreAttempt(model, targets, tuple, `attempts[${i}]`, intern);
  }
  for (const [i, t] of list(snapshot.targets, "targets").entries()) {
    restoreRunning(model, targets[i]!, record(t, `targets[${i}]`).running, `targets[${i}].running`);
  }
  return model;
}

function restoreTarget(
  model: StateModel,
  value: unknown,
  where: string,
  intern: Intern,
): TargetEntry {
  const t = record(value, where);
  const target = createTargetEntry(text(t.id, `${where}.id`));
  if (model.targets.has(target.id)) throw new SnapshotError(`${where}.id repeats ${target.id}`);
  model.targets.set(target.id, target);
  target.consecutiveFailures = integer(t.consecutive_failures, `${where}.consecutive_failures`);
  target.lastResetAt = nullableText(t.last_reset_at, `${where}.last_reset_at`);
  target.lastEventAt = nullableText(t.last_event_at, `${where}.last_event_at`);
  target.lastTickAt = nullableText(t.last_tick_at, `${where}.last_tick_at`);
  target.lastSkipReason = nullableText(t.last_skip_reason, `${where}.last_skip_reason`);
  target.scheduleCron = nullableText(t.schedule_cron, `${where}.schedule_cron`);
  target.circuitBreakerFailures =
    t.circuit_breaker_failures === null
      ? null
      : integer(t.circuit_breaker_failures, `${where}.circuit_breaker_failures`);
  for (const [i, pair] of list(t.failures_by_reason, `${where}.failures_by_reason`).entries()) {
    const [label, n] = list(pair, `${where}.failures_by_reason[${i}]`);
    target.failuresByReason.set(
      text(label, `${where}.failures_by_reason[${i}][0]`),
      integer(n, `${where}.failures_by_reason[${i}][1]`),
    );
  }
  for (const [i, tuple] of list(t.tasks, `${where}.tasks`).entries()) {
    const [taskId, blocked, failure, prUrls] = list(tuple, `${where}.tasks[${i}]`);
    const task = createTaskEntry(intern(text(taskId, `${where}.tasks[${i}][0]`)));
    task.blocked = blocked === 1;
    task.lastFailure =
      failure === null ? null : Object.freeze(lastFailure(failure, `${where}.tasks[${i}][2]`));
    task.prUrls = texts(prUrls, `${where}.tasks[${i}][3]`).map(intern);
    target.tasks.set(task.id, task);
    taskChanged(target, task);
  }
  for (const [i, pr] of list(t.open_pull_requests, `${where}.open_pull_requests`).entries()) {
    const open = openPullRequest(pr, `${where}.open_pull_requests[${i}]`);
    target.openPullRequests.set(open.pr_url, Object.freeze(open));
  }
  for (const [i, triple] of list(t.pull_requests, `${where}.pull_requests`).entries()) {
    const [url, ended, producers] = list(triple, `${where}.pull_requests[${i}]`);
    const pr = {
      ended: ended === 1,
      producers: texts(producers, `${where}.pull_requests[${i}][2]`).map(intern),
    };
    target.pullRequests.set(intern(text(url, `${where}.pull_requests[${i}][0]`)), pr);
    model.producedEdges += pr.producers.length;
  }
  target.taskNodes = new Set(texts(t.task_nodes, `${where}.task_nodes`).map(intern));
  model.taskNodes += target.taskNodes.size;
  model.pullRequestNodes += target.pullRequests.size;
  return target;
}

function restoreAttempt(
  model: StateModel,
  targets: TargetEntry[],
  value: unknown,
  where: string,
  intern: Intern,
): void {
  const tuple = list(value, where);
  const target = targets[integer(tuple[1], `${where}[1]`)];
  if (!target) throw new SnapshotError(`${where}[1] names no target`);
  const taskId = nullableText(tuple[2], `${where}[2]`);
  const prUrl = nullableText(tuple[9], `${where}[9]`);
  const attempt: AttemptEntry = {
    id: intern(text(tuple[0], `${where}[0]`)),
    target,
    taskId: taskId === null ? null : intern(taskId),
    attemptNumber: tuple[3] === null ? null : integer(tuple[3], `${where}[3]`),
    status: nullableStatus(tuple[4], `${where}[4]`),
    order: integer(tuple[5], `${where}[5]`),
    requestedAt: nullableText(tuple[6], `${where}[6]`),
    startedAt: nullableText(tuple[7], `${where}[7]`),
    platformFailure: tuple[8] === 1,
    prUrl: prUrl === null ? null : intern(prUrl),
    seqs: list(tuple[10], `${where}[10]`).map((seq, i) => integer(seq, `${where}[10][${i}]`)),
  };
  if (model.attempts.has(attempt.id)) throw new SnapshotError(`${where}[0] repeats ${attempt.id}`);
  model.attempts.set(attempt.id, attempt);
  // Attempts are listed in the order they were first named, as apply remembers them.
  rememberRecentAttempt(target, attempt);
  if (attempt.taskId !== null) model.attemptsWithTask += 1;
  if (attempt.status === null) return;
  const task = attempt.taskId === null ? undefined : target.tasks.get(attempt.taskId);
  if (!task) throw new SnapshotError(`${where}: its task is not among ${target.id}'s tasks`);
  // The same counters `moveStatus` keeps; the last attempt is the maximum of `ranksAfter`.
  task.attempts += 1;
  if (attempt.platformFailure) task.platformFailures += 1;
  if (isRunning(attempt.status)) task.running += 1;
  if (task.last === null || ranksAfter(attempt, task.last)) task.last = attempt;
  target.attemptsByStatus[attempt.status] += 1;
}

function restoreRunning(model: StateModel, target: TargetEntry, value: unknown, where: string) {
  for (const [i, attemptId] of texts(value, where).entries()) {
    const attempt = model.attempts.get(attemptId);
    if (!attempt || attempt.target !== target || !isRunning(attempt.status)) {
      throw new SnapshotError(
        `${where}[${i}] ${attemptId} is not a running attempt of ${target.id}`,
      );
    }
    target.running.set(attempt.id, attempt);
  }
  // The list gives the order; the statuses must agree on who is in it.
  const { requested, created, running } = target.attemptsByStatus;
  if (requested + created + running !== target.running.size) {
    throw new SnapshotError(
      `${where} lists ${target.running.size} of ${target.id}'s running attempts, not all`,
    );
  }
}

// ---- readers: each throws a SnapshotError naming the field ------------------------------

function record(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SnapshotError(`${where} must be an object`);
  }
  return value as Record<string, unknown>;
}

function list(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw new SnapshotError(`${where} must be a list`);
  return value;
}

function text(value: unknown, where: string): string {
  if (typeof value !== "string") throw new SnapshotError(`${where} must be a string`);
  return value;
}

function texts(value: unknown, where: string): string[] {
  return list(value, where).map((item, i) => text(item, `${where}[${i}]`));
}

function nullableText(value: unknown, where: string): string | null {
  return value === null ? null : text(value, where);
}

function integer(value: unknown, where: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new SnapshotError(`${where} must be a non-negative integer`);
  }
  return value;
}

const STATUSES = new Set<unknown>(Object.values(STATUS_OF_EVENT));

function nullableStatus(value: unknown, where: string): AttemptStatus | null {
  if (value === null) return null;
  if (!STATUSES.has(value)) throw new SnapshotError(`${where} must be an attempt status`);
  return value as AttemptStatus;
}

function openPullRequest(value: unknown, where: string): OpenPullRequest {
  const pr = record(value, where);
  return {
    pr_url: text(pr.pr_url, `${where}.pr_url`),
    pr_number: pr.pr_number === null ? null : integer(pr.pr_number, `${where}.pr_number`),
    task_id: nullableText(pr.task_id, `${where}.task_id`),
    attempt_id: text(pr.attempt_id, `${where}.attempt_id`),
  };
}

function lastFailure(value: unknown, where: string): LastFailure {
  const f = record(value, where);
  const kind = f.failure_kind;
  if (kind !== "task" && kind !== "platform") {
    throw new SnapshotError(`${where}.failure_kind must be task or platform`);
  }
  return {
    attempt_id: text(f.attempt_id, `${where}.attempt_id`),
    reason: nullableText(f.reason, `${where}.reason`),
    failure_kind: kind,
    error_summary: nullableText(f.error_summary, `${where}.error_summary`),
    at: text(f.at, `${where}.at`),
  };
}

function recentEvent(value: unknown, where: string): RecentEvent {
  const e = record(value, where);
  return {
    event_id: text(e.event_id, `${where}.event_id`),
    timestamp: text(e.timestamp, `${where}.timestamp`),
    event_type: text(e.event_type, `${where}.event_type`),
    actor_id: text(e.actor_id, `${where}.actor_id`),
    target: text(e.target, `${where}.target`),
    attempt_id: nullableText(e.attempt_id, `${where}.attempt_id`),
  };
}
