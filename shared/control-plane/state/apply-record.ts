import type { AttemptStatus, StoredRecord } from "../../events/types.ts";
import { advanceStatus, isRunning, isTerminal, STATUS_OF_EVENT } from "./attempt-status.ts";
import { consecutiveFailuresAfter } from "./consecutive-failures.ts";
import { failureReasonLabel } from "./failure-reasons.ts";
import { ranksAfter } from "./last-attempt.ts";
import {
  type AttemptEntry,
  rememberRecentAttempt,
  type StateModel,
  type TargetEntry,
  targetChanged,
  targetEntryFor,
  taskChanged,
  taskEntryFor,
} from "./model.ts";
import { nameProduced, namePullRequest, nameTask } from "./name-graph-nodes.ts";
import { payloadOf, positiveIntegerField, textField } from "./payload-fields.ts";
import { isPlatformFailure, lastFailureOf } from "./platform-failure.ts";
import { recordPullRequestEnded, recordPullRequestOpened } from "./pull-requests.ts";
import { pushRecentEvent, recentEventOf } from "./recent-events.ts";

type Payload = Record<string, unknown>;
type Handler = (
  model: StateModel,
  target: TargetEntry,
  record: StoredRecord,
  payload: Payload,
) => void;

/**
 * Folds one record into the state: O(1) apart from set and map operations, and no record is
 * kept. Every record counts for the target's last event and the recent events; what else it
 * changes depends on its type (the table at the end); unknown types change nothing else.
 */
export function applyRecord(model: StateModel, record: StoredRecord): void {
  pushRecentEvent(model.recent, recentEventOf(record));
  const target = targetEntryFor(model, record.target);
  targetChanged(model, target);
  target.lastEventAt = record.event.timestamp;
  if (countsAsTick(record.event.event_type)) target.lastTickAt = record.event.timestamp;
  const type = record.event.event_type;
  const handler = Object.hasOwn(HANDLERS, type) ? HANDLERS[type] : undefined;
  handler?.(model, target, record, payloadOf(record));
}

/** `last_tick_at`: the scheduler's own events, and the attempts it requests. */
export function countsAsTick(eventType: string): boolean {
  return eventType.startsWith("scheduler.") || eventType === "attempt.requested";
}

/**
 * The attempt a record names, created on first mention. Attempt ids are derived from their
 * target, so another target naming a known id is a stray: null, and the record changes nothing
 * about the attempt.
 */
function attemptNamed(
  model: StateModel,
  target: TargetEntry,
  record: StoredRecord,
  attemptId: string,
  taskId: string | null,
): AttemptEntry | null {
  let attempt = model.attempts.get(attemptId);
  if (!attempt) {
    attempt = {
      id: attemptId,
      target,
      taskId: null,
      attemptNumber: null,
      status: null,
      order: model.nextOrder++,
      requestedAt: record.event.timestamp,
      startedAt: null,
      platformFailure: false,
      prUrl: null,
      seqs: [],
    };
    model.attempts.set(attemptId, attempt);
    rememberRecentAttempt(target, attempt);
  }
  if (attempt.target !== target) return null;
  appendSeq(attempt, record.seq);
  // The first task named wins; each attempt is one attempt→task DEPENDS_ON edge.
  if (attempt.taskId === null && taskId !== null) {
    // The task entry's copy of the id, so 250k attempts do not each keep their own.
    attempt.taskId = target.tasks.get(taskId)?.id ?? taskId;
    model.attemptsWithTask += 1;
    if (attempt.prUrl !== null) taskOpenedPullRequest(target, attempt.taskId, attempt.prUrl);
  }
  return attempt;
}

/**
 * A pushed array keeps room for about 16 more elements; with 250k attempts of ~5 records each
 * that spare room would be most of the state. So a short list is copied instead (`concat`
 * allocates the exact size; a spread, like a push, does not): bounded work. Only an unusually
 * long one grows by pushing.
 */
function appendSeq(attempt: AttemptEntry, seq: number): void {
  if (attempt.seqs.length < 16) attempt.seqs = attempt.seqs.concat(seq);
  else attempt.seqs.push(seq);
}

function applyAttemptEvent(
  model: StateModel,
  target: TargetEntry,
  record: StoredRecord,
  payload: Payload,
): void {
  const announced = STATUS_OF_EVENT[record.event.event_type];
  const attemptId = textField(payload, "attempt_id");
  if (!announced || attemptId === null) return;
  const taskId = textField(payload, "task_id");
  const attempt = attemptNamed(model, target, record, attemptId, taskId);
  if (!attempt) return;
  if (taskId !== null) nameTask(model, target, taskId);
  // Without a task the attempt has no place in `tasks`: it waits for an event that names one.
  if (attempt.taskId === null) return;
  learnAttemptNumber(target, attempt, positiveIntegerField(payload, "attempt_number"));
  if (announced === "running" && attempt.startedAt === null && !endedAlready(attempt)) {
    attempt.startedAt = record.event.timestamp;
  }
  moveStatus(target, attempt, advanceStatus(attempt.status, announced), record, payload);
}

function endedAlready(attempt: AttemptEntry): boolean {
  return attempt.status !== null && isTerminal(attempt.status);
}

/** The first valid number wins; learning it may make this its task's last attempt. */
function learnAttemptNumber(
  target: TargetEntry,
  attempt: AttemptEntry,
  number: number | null,
): void {
  if (attempt.attemptNumber !== null || number === null) return;
  attempt.attemptNumber = number;
  if (attempt.status === null || attempt.taskId === null) return;
  const task = taskEntryFor(target, attempt.taskId);
  if (task.last !== attempt && (task.last === null || ranksAfter(attempt, task.last))) {
    task.last = attempt;
    taskChanged(target, task);
  }
}

/** Moves every counter that depends on the attempt's status from `previous` to `next`. */
function moveStatus(
  target: TargetEntry,
  attempt: AttemptEntry,
  next: AttemptStatus,
  record: StoredRecord,
  payload: Payload,
): void {
  const previous = attempt.status;
  if (previous === next || attempt.taskId === null) return;
  const task = taskEntryFor(target, attempt.taskId);
  if (previous === null) {
    task.attempts += 1;
    if (task.last === null || ranksAfter(attempt, task.last)) task.last = attempt;
  } else {
    target.attemptsByStatus[previous] -= 1;
  }
  target.attemptsByStatus[next] += 1;
  attempt.status = next;
  if (!isRunning(previous) && isRunning(next)) {
    target.running.set(attempt.id, attempt);
    task.running += 1;
  } else if (isRunning(previous) && !isRunning(next)) {
    target.running.delete(attempt.id);
    task.running -= 1;
  }
  if (isTerminal(next)) {
    // Only running attempts need their times (the tick judges deadlines from them).
    attempt.requestedAt = null;
    attempt.startedAt = null;
    if (next === "failed" && isPlatformFailure(payload)) {
      attempt.platformFailure = true;
      task.platformFailures += 1;
    }
    if (next === "failed") {
      task.lastFailure = lastFailureOf(attempt.id, record.event.timestamp, payload);
      const label = failureReasonLabel(task.lastFailure.reason);
      target.failuresByReason.set(label, (target.failuresByReason.get(label) ?? 0) + 1);
    }
    target.consecutiveFailures = consecutiveFailuresAfter(
      target.consecutiveFailures,
      next === "failed" ? "attempt-failed" : "attempt-succeeded",
    );
  }
  taskChanged(target, task);
}

function applyPullRequestCreated(
  model: StateModel,
  target: TargetEntry,
  record: StoredRecord,
  payload: Payload,
): void {
  const prUrl = textField(payload, "pr_url");
  const attemptId = textField(payload, "attempt_id");
  if (prUrl === null || attemptId === null) return;
  const taskId = textField(payload, "task_id");
  const attempt = attemptNamed(model, target, record, attemptId, taskId);
  if (!attempt) return;
  if (taskId !== null) nameTask(model, target, taskId);
  const pr = namePullRequest(model, target, prUrl);
  nameProduced(model, pr, attempt.id);
  if (attempt.prUrl === null) {
    attempt.prUrl = prUrl;
    if (attempt.taskId !== null) taskOpenedPullRequest(target, attempt.taskId, prUrl);
  }
  recordPullRequestOpened(target, pr, {
    pr_url: prUrl,
    pr_number: positiveIntegerField(payload, "pr_number"),
    task_id: taskId ?? attempt.taskId,
    attempt_id: attemptId,
  });
}

function applyPullRequestEnded(
  model: StateModel,
  target: TargetEntry,
  record: StoredRecord,
  payload: Payload,
): void {
  const prUrl = textField(payload, "pr_url");
  if (prUrl === null) return;
  const attemptId = textField(payload, "attempt_id");
  const taskId = textField(payload, "task_id");
  const attempt =
    attemptId === null ? null : attemptNamed(model, target, record, attemptId, taskId);
  if (taskId !== null) nameTask(model, target, taskId);
  const pr = namePullRequest(model, target, prUrl);
  if (attempt) nameProduced(model, pr, attempt.id);
  recordPullRequestEnded(target, pr, prUrl);
}

/** A task lists each PR its attempts opened once (an attempt's first PR). */
function taskOpenedPullRequest(target: TargetEntry, taskId: string, prUrl: string): void {
  const task = taskEntryFor(target, taskId);
  if (task.prUrls.includes(prUrl)) return;
  task.prUrls = task.prUrls.concat(prUrl);
  taskChanged(target, task);
}

/** An artifact an attempt recorded is one of its records (its answer lists the payloads). */
function applyArtifactCreated(
  model: StateModel,
  target: TargetEntry,
  record: StoredRecord,
  payload: Payload,
): void {
  const attemptId = textField(payload, "attempt_id");
  if (attemptId !== null) attemptNamed(model, target, record, attemptId, null);
}

function applyTaskBlocked(
  model: StateModel,
  target: TargetEntry,
  _record: StoredRecord,
  payload: Payload,
): void {
  const taskId = textField(payload, "task_id");
  if (taskId === null) return;
  nameTask(model, target, taskId);
  const task = taskEntryFor(target, taskId);
  if (task.blocked) return;
  task.blocked = true;
  taskChanged(target, task);
}

function applySkip(
  model: StateModel,
  target: TargetEntry,
  record: StoredRecord,
  payload: Payload,
): void {
  const reason = textField(payload, "reason");
  if (reason !== null) target.lastSkipReason = reason;
  applyTickPolicy(model, target, record, payload);
}

/** The policy a tick recorded it ran under: the latest one stands (a config can change). */
function applyTickPolicy(
  _model: StateModel,
  target: TargetEntry,
  _record: StoredRecord,
  payload: Payload,
): void {
  const cron = textField(payload, "schedule_cron");
  if (cron !== null) target.scheduleCron = cron;
  const threshold = positiveIntegerField(payload, "circuit_breaker_failures");
  if (threshold !== null) target.circuitBreakerFailures = threshold;
}

function applyCircuitReset(_model: StateModel, target: TargetEntry, record: StoredRecord): void {
  target.consecutiveFailures = consecutiveFailuresAfter(
    target.consecutiveFailures,
    "circuit-reset",
  );
  target.lastResetAt = record.event.timestamp;
}

const HANDLERS: Readonly<Record<string, Handler>> = {
  "attempt.requested": applyAttemptEvent,
  "attempt.created": applyAttemptEvent,
  "attempt.started": applyAttemptEvent,
  "attempt.succeeded": applyAttemptEvent,
  "attempt.failed": applyAttemptEvent,
  "pr.created": applyPullRequestCreated,
  "pr.merged": applyPullRequestEnded,
  "pr.closed": applyPullRequestEnded,
  "task.blocked": applyTaskBlocked,
  "scheduler.skipped": applySkip,
  "scheduler.decided": applyTickPolicy,
  "circuit.reset": applyCircuitReset,
  "artifact.created": applyArtifactCreated,
};
