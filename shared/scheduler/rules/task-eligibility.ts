import type { BacklogTask, TaskStatus } from "../../backlog/types.ts";
import type { AutonomyConfig } from "../../config/schema.ts";
import type { TargetState } from "../../control-plane/types.ts";
import { parseProvenance } from "../../forge/provenance.ts";
import type { PullRequest } from "../../forge/types.ts";
import { checkAllowedPaths } from "../../scope/check-path.ts";
import type { IneligibleReason } from "../types.ts";
import { ownPullRequests } from "./own-pull-requests.ts";

/** What the conditions look at besides the task itself; built once per tick. */
export interface EligibilityContext {
  config: AutonomyConfig;
  target: TargetState;
  /** Every task's status as the backlog states it (missing status → undefined). */
  statusById: ReadonlyMap<string, TaskStatus | undefined>;
  /** Open PRs of the target repository tied to a task of this target by their marker. */
  openPullRequestByTask: ReadonlyMap<string, PullRequest>;
}

export interface Ineligible {
  reason: IneligibleReason;
  message: string;
}

export type EligibilityCondition = (
  task: BacklogTask,
  context: EligibilityContext,
) => Ineligible | null;

export function buildEligibilityContext(
  config: AutonomyConfig,
  target: TargetState,
  tasks: readonly BacklogTask[],
  openPullRequests: readonly PullRequest[],
): EligibilityContext {
  const statusById = new Map(tasks.map((task) => [task.id, task.status]));
  const openPullRequestByTask = new Map<string, PullRequest>();
  for (const pr of ownPullRequests(config, openPullRequests)) {
    // Tied by the marker in the body, never by parsing branch names; a fork's copy ties nothing.
    const provenance = parseProvenance(pr.body);
    if (provenance?.target !== config.target_id) continue;
    if (!openPullRequestByTask.has(provenance.task)) openPullRequestByTask.set(provenance.task, pr);
  }
  return { config, target, statusById, openPullRequestByTask };
}

/** A task with a problem in the file (lint reports it) cannot run until it is fixed. */
export function hasNoProblems(task: BacklogTask): Ineligible | null {
  if (task.problems.length === 0) return null;
  return {
    reason: "invalid_task",
    message: task.problems.map((p) => `${p.field}: ${p.message}`).join("; "),
  };
}

/** Only `ready: true` runs: people decide what is ready, not the scheduler. */
export function isReady(task: BacklogTask): Ineligible | null {
  return task.ready === true ? null : { reason: "not_ready", message: "ready is not true" };
}

/** Status `pending`, or none at all. */
export function isPending(task: BacklogTask): Ineligible | null {
  if (task.status === undefined || task.status === "pending") return null;
  return { reason: "status_not_pending", message: `status is ${task.status}` };
}

/** Every dependency `completed` in the backlog; an unknown one, or the task itself, never is. */
export function dependenciesCompleted(
  task: BacklogTask,
  { statusById }: EligibilityContext,
): Ineligible | null {
  const waiting: string[] = [];
  for (const dependency of task.dependencies ?? []) {
    if (dependency === task.id) {
      waiting.push(`${dependency} (itself)`);
    } else if (!statusById.has(dependency)) {
      waiting.push(`${dependency} (unknown)`);
    } else if (statusById.get(dependency) !== "completed") {
      waiting.push(`${dependency} (${statusById.get(dependency) ?? "pending"})`);
    }
  }
  if (waiting.length === 0) return null;
  return {
    reason: "dependencies_not_completed",
    message: `waits for ${waiting.join(", ")}`,
  };
}

/** The same scope check the attempt applies before it executes. */
export function pathsAllowed(task: BacklogTask, { config }: EligibilityContext): Ineligible | null {
  const result = checkAllowedPaths(task.allowed_paths ?? [], config.allowed_path_prefixes);
  if (result.ok) return null;
  return {
    reason: "paths_not_allowed",
    message: result.problems
      .map((p) => (p.path ? `${JSON.stringify(p.path)}: ${p.reason}` : p.reason))
      .join("; "),
  };
}

/** One attempt of a task at a time. */
export function notRunning(task: BacklogTask, { target }: EligibilityContext): Ineligible | null {
  const running = target.running_details.find((attempt) => attempt.task_id === task.id);
  if (running) return { reason: "attempt_running", message: `${running.attempt_id} is running` };
  if (target.tasks[task.id]?.running) {
    return { reason: "attempt_running", message: "an attempt is running" };
  }
  return null;
}

/** A task whose PR awaits review is done for now; merging it completes the task. */
export function noOpenPullRequest(
  task: BacklogTask,
  { openPullRequestByTask }: EligibilityContext,
): Ineligible | null {
  const pr = openPullRequestByTask.get(task.id);
  if (!pr) return null;
  return { reason: "open_pull_request", message: `PR #${pr.number} is open (${pr.html_url})` };
}

/** Fewer than `max_attempts_per_task` charged attempts (platform failures are not charged). */
export function attemptsRemaining(
  task: BacklogTask,
  { config, target }: EligibilityContext,
): Ineligible | null {
  const charged = target.tasks[task.id]?.charged_attempts ?? 0;
  if (charged < config.max_attempts_per_task) return null;
  return {
    reason: "attempts_exhausted",
    message: `used ${charged} of ${config.max_attempts_per_task} attempts`,
  };
}

/**
 * The task conditions, in the order they are judged; the first that fails is the
 * task's reason. Running and open-PR come before the attempt count because a running or
 * successful last attempt is charged too, and such a task is not blocked.
 */
export const TASK_CONDITIONS: readonly EligibilityCondition[] = [
  hasNoProblems,
  isReady,
  isPending,
  dependenciesCompleted,
  pathsAllowed,
  notRunning,
  noOpenPullRequest,
  attemptsRemaining,
];

/** Null when the task may run now, else the first condition it fails. */
export function checkTaskEligibility(
  task: BacklogTask,
  context: EligibilityContext,
): Ineligible | null {
  for (const condition of TASK_CONDITIONS) {
    const ineligible = condition(task, context);
    if (ineligible) return ineligible;
  }
  return null;
}
