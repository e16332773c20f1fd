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
// Attempts are tuples, not objects: there may be hundreds of thousands of them. It is a
// sequence of parts, none longer than PART_ENTRIES entries, so neither writing nor restoring
// it ever holds more than one part's text and parse tree beside the state.

/**
 * 2: an attempt's `seqs` hold its `artifact.created` records too. 3: a target keeps the tick's
 * policy and its failures by reason, a task its last failure and PRs. 4: parts instead of one
 * object. An older one is replayed instead.
 */
export const SNAPSHOT_VERSION = 4;

/** Entries per part: a few hundred kilobytes of JSON. */
export const PART_ENTRIES = 2_000;

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

/** `[task id, blocked, last failure, PR urls]`, in the key order of `tasks`. */
type TaskTuple = [string, 0 | 1, LastFailure | null, string[]];
/** `[pr url, ended, attempt ids that produced it]`, every PR named. */
type PullRequestTuple = [string, 0 | 1, string[]];

/** A target's own fields; its tasks, PRs and task nodes follow in parts of their own. */
interface TargetHead {
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
  running: string[];
  open_pull_requests: OpenPullRequest[];
}

/**
 * The parts, in order: one `head`; per target one `target`, then its `tasks`,
 * `pull_requests` and `task_nodes` in as many parts as they need; then the `attempts`.
 */
export type SnapshotPart =
  | { head: { version: typeof SNAPSHOT_VERSION; next_order: number; recent: RecentEvent[] } }
  | { target: TargetHead }
  | { tasks: TaskTuple[] }
  | { pull_requests: PullRequestTuple[] }
  | { task_nodes: string[] }
  | { attempts: AttemptTuple[] };

/** `{ [key]: chunk }` for each PART_ENTRIES of `items`, mapped as it goes. */
function* chunked<T, K extends string, U>(
  key: K,
  items: Iterable<T>,
  map: (item: T) => U,
): Generator<Record<K, U[]>> {
  let chunk: U[] = [];
  for (const item of items) {
    chunk.push(map(item));
    if (chunk.length === PART_ENTRIES) {
      yield { [key]: chunk } as Record<K, U[]>;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield { [key]: chunk } as Record<K, U[]>;
}

/** The parts of the state, made as they are taken: consume them at once, as the store does. */
export function* snapshotOf(model: StateModel): Generator<SnapshotPart> {
  yield {
    head: {
      version: SNAPSHOT_VERSION,
      next_order: model.nextOrder,
      recent: newestFirst(model.recent).reverse(),
    },
  };
  const targetIndex = new Map<TargetEntry, number>();
  for (const target of model.targets.values()) {
    targetIndex.set(target, targetIndex.size);
    yield {
      target: {
        id: target.id,
        consecutive_failures: target.consecutiveFailures,
        last_reset_at: target.lastResetAt,
        last_event_at: target.lastEventAt,
        last_tick_at: target.lastTickAt,
        last_skip_reason: target.lastSkipReason,
        schedule_cron: target.scheduleCron,
        circuit_breaker_failures: target.circuitBreakerFailures,
        failures_by_reason: [...target.failuresByReason],
        running: [...target.running.keys()],
        open_pull_requests: [...target.openPullRequests.values()],
      },
    };
    yield* chunked(
      "tasks",
      target.tasks.values(),
      (task): TaskTuple => [task.id, task.blocked ? 1 : 0, task.lastFailure, task.prUrls],
    );
    yield* chunked(
      "pull_requests",
      target.pullRequests,
      ([url, pr]): PullRequestTuple => [url, pr.ended ? 1 : 0, pr.producers],
    );
    yield* chunked("task_nodes", target.taskNodes, (id) => id);
  }
  yield* chunked(
    "attempts",
    model.attempts.values(),
    (a): AttemptTuple => [
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
    ],
  );
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

/** What restoring keeps between parts. */
interface Restoring {
  model: StateModel;
  intern: Intern;
  /** In the order of their `target` parts: attempts name them by index. */
  targets: TargetEntry[];
  /** Each target's `running` list, checked once every attempt is known. */
  running: string[][];
  attemptsSeen: number;
}

/**
 * A new model from the parts, read one at a time; throws a SnapshotError naming the first
 * problem (`parts[i]…`) it finds. Parts that fail to be read throw through.
 */
export function modelFromSnapshot(parts: Iterable<unknown>): StateModel {
  const restoring: Restoring = {
    model: createModel(),
    intern: createIntern(),
    targets: [],
    running: [],
    attemptsSeen: 0,
  };
  let index = 0;
  for (const value of parts) {
    const where = `parts[${index}]`;
    const part = record(value, where);
    if (index === 0) restoreHead(restoring.model, part.head, `${where}.head`);
    else restorePart(restoring, part, where);
    index += 1;
  }
  if (index === 0) throw new SnapshotError("it has no parts");
  restoring.targets.forEach((target, i) => {
    restoreRunning(restoring.model, target, restoring.running[i]!, `target ${target.id}'s running`);
  });
  return restoring.model;
}

function restoreHead(model: StateModel, value: unknown, where: string): void {
  const head = record(value, where);
  if (head.version !== SNAPSHOT_VERSION) {
    throw new SnapshotError(`version ${String(head.version)} is not ${SNAPSHOT_VERSION}`);
  }
  model.nextOrder = integer(head.next_order, `${where}.next_order`);
  for (const [i, event] of list(head.recent, `${where}.recent`).entries()) {
    pushRecentEvent(model.recent, Object.freeze(recentEvent(event, `${where}.recent[${i}]`)));
  }
}

const PART_KINDS = new Set(["target", "tasks", "pull_requests", "task_nodes", "attempts"]);

function restorePart(restoring: Restoring, part: Record<string, unknown>, where: string): void {
  const [kind, ...others] = Object.keys(part);
  if (kind === undefined || others.length > 0) {
    throw new SnapshotError(`${where} must have exactly one key`);
  }
  if (!PART_KINDS.has(kind)) throw new SnapshotError(`${where} has an unknown kind ${kind}`);
  const at = `${where}.${kind}`;
  if (kind === "target") {
    if (restoring.attemptsSeen > 0) throw new SnapshotError(`${at} comes after attempts`);
    const t = record(part.target, at);
    restoring.targets.push(restoreTarget(restoring.model, t, at));
    restoring.running.push(texts(t.running, `${at}.running`));
    return;
  }
  if (kind === "attempts") {
    for (const [i, tuple] of list(part.attempts, at).entries()) {
      restoreAttempt(restoring, tuple, `${at}[${i}]`);
    }
    return;
  }
  const target = restoring.targets.at(-1);
  if (!target || restoring.attemptsSeen > 0) {
    throw new SnapshotError(`${at} does not follow a target`);
  }
  const entries = list(part[kind], at);
  if (kind === "tasks") restoreTasks(target, entries, at, restoring.intern);
  else if (kind === "pull_requests") {
    restorePullRequests(restoring.model, target, entries, at, restoring.intern);
  } else {
    const before = target.taskNodes.size;
    for (const [i, id] of entries.entries()) {
      target.taskNodes.add(restoring.intern(text(id, `${at}[${i}]`)));
    }
    restoring.model.taskNodes += target.taskNodes.size - before;
  }
}

function restoreTarget(model: StateModel, t: Record<string, unknown>, where: string): TargetEntry {
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
  for (const [i, pr] of list(t.open_pull_requests, `${where}.open_pull_requests`).entries()) {
    const open = openPullRequest(pr, `${where}.open_pull_requests[${i}]`);
    target.openPullRequests.set(open.pr_url, Object.freeze(open));
  }
  return target;
}

function restoreTasks(target: TargetEntry, tuples: unknown[], where: string, intern: Intern) {
  for (const [i, value] of tuples.entries()) {
    const [taskId, blocked, failure, prUrls] = list(value, `${where}[${i}]`);
    const task = createTaskEntry(intern(text(taskId, `${where}[${i}][0]`)));
    if (target.tasks.has(task.id)) throw new SnapshotError(`${where}[${i}][0] repeats ${task.id}`);
    task.blocked = blocked === 1;
    task.lastFailure =
      failure === null ? null : Object.freeze(lastFailure(failure, `${where}[${i}][2]`));
    task.prUrls = texts(prUrls, `${where}[${i}][3]`).map(intern);
    target.tasks.set(task.id, task);
    taskChanged(target, task);
  }
}

function restorePullRequests(
  model: StateModel,
  target: TargetEntry,
  triples: unknown[],
  where: string,
  intern: Intern,
) {
  for (const [i, value] of triples.entries()) {
    const [url, ended, producers] = list(value, `${where}[${i}]`);
    const pr = {
      ended: ended === 1,
      producers: texts(producers, `${where}[${i}][2]`).map(intern),
    };
    const key = intern(text(url, `${where}[${i}][0]`));
    if (target.pullRequests.has(key)) throw new SnapshotError(`${where}[${i}][0] repeats ${key}`);
    target.pullRequests.set(key, pr);
    model.pullRequestNodes += 1;
    model.producedEdges += pr.producers.length;
  }
}

function restoreAttempt(restoring: Restoring, value: unknown, where: string): void {
  const { model, targets, intern } = restoring;
  restoring.attemptsSeen += 1;
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

function restoreRunning(model: StateModel, target: TargetEntry, ids: string[], where: string) {
  for (const [i, attemptId] of ids.entries()) {
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
