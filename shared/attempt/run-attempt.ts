import { rm } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { BacklogTask } from "../backlog/types.ts";
import type { ExecutorName } from "../config/schema.ts";
import type { ControlPlaneClient } from "../control-plane/client/control-plane-client.ts";
import type { FailureReason, LeviathanEvent } from "../events/types.ts";
import type { Forge } from "../forge/types.ts";
import { cloneShallow, DEFAULT_CLONE_TIMEOUT_MS } from "../git/clone-shallow.ts";
import { commitPaths } from "../git/commit-paths.ts";
import { compareGitFingerprints, fingerprintGitDir } from "../git/fingerprint-git-dir.ts";
import { tokenForms } from "../git/git-environment.ts";
import { listChanges } from "../git/list-changes.ts";
import { DEFAULT_PUSH_TIMEOUT_MS, pushBranch } from "../git/push-branch.ts";
import { DEFAULT_GIT_TIMEOUT_MS } from "../git/run-git.ts";
import { type Logger, redact } from "../log/logger.ts";
import { checkAllowedPaths } from "../scope/check-path.ts";
import type { AttemptEnv } from "./attempt-env.ts";
import { type AttemptIdentity, attemptEvent } from "./attempt-events.ts";
import {
  type AttemptFailure,
  attemptFailure,
  type ScopeViolation,
  toAttemptFailure,
} from "./attempt-failure.ts";
import { checkCommitInvariants } from "./check-invariants.ts";
import { executorNameFor, selectExecutor } from "./executors/select-executor.ts";
import { openPullRequest } from "./open-pull-request.ts";
import { pullRequestBody, pullRequestTitle } from "./pull-request-body.ts";
import { readTaskFromCheckout } from "./read-task.ts";
import { executorMayEditBacklog, writeBack } from "./write-back.ts";

export interface AttemptDependencies {
  /** Where the attempt's events go (retried with backoff, idempotent by event id). */
  controlPlane: Pick<ControlPlaneClient, "postEvents">;
  forge: Forge;
  logger: Logger;
  /** Event timestamps and the write-back's `completed_at`; deadlines use the real clock. */
  now?: () => Date;
  /** The checkout; default `<LEVIATHAN_WORKSPACE_DIR>/<attempt_id>`. Removed at the end. */
  workspace?: string;
  limits?: Partial<AttemptLimits>;
}

/** Per-step time limits; each is further cut to what is left of the attempt's deadline. */
export interface AttemptLimits {
  cloneMs: number;
  pushMs: number;
  /** Local git commands (status, add, commit). */
  gitMs: number;
  /** Each forge call, the client's retries included. */
  forgeMs: number;
}

const DEFAULT_LIMITS: AttemptLimits = {
  cloneMs: DEFAULT_CLONE_TIMEOUT_MS,
  pushMs: DEFAULT_PUSH_TIMEOUT_MS,
  gitMs: DEFAULT_GIT_TIMEOUT_MS,
  forgeMs: 120_000,
};

export type AttemptResult =
  | {
      ok: true;
      outcome: "succeeded";
      pr_url: string;
      pr_number: number;
      branch: string;
      commit_sha: string;
      /** The PR a previous run of this attempt opened was used. */
      pr_reused: boolean;
    }
  | {
      ok: false;
      outcome: "failed";
      failure: AttemptFailure;
      /** Whether `attempt.failed` reached the control plane. */
      reported: boolean;
    }
  | {
      /** The control plane could not take `attempt.created`/`started`: git was never touched. */
      ok: false;
      outcome: "not_started";
      error: string;
    }
  | {
      /** The PR is open but `pr.created`/`attempt.succeeded` could not be recorded. */
      ok: false;
      outcome: "unreported";
      error: string;
      pr_url: string;
      branch: string;
    };

/** What the steps produce, for the success events. */
interface Published {
  branch: string;
  commitSha: string;
  prNumber: number;
  prUrl: string;
  prTitle: string;
  prState: string;
  reused: boolean;
}

/**
 * One attempt, DESIGN §5 from start to end: `attempt.created` and `attempt.started`, then a
 * shallow clone of the target branch, the task from its backlog, its paths checked, the
 * executor, the write-back, the commit-time invariants, a commit of exactly the checked paths,
 * a force-push of `agent/<executor>-<attempt_id>`, the PR (reused when this attempt already
 * opened one), `pr.created` and `attempt.succeeded`. Any failure becomes `attempt.failed`. If
 * the control plane cannot take the first events, nothing else happens (the tick later
 * records the attempt as lost). Never throws.
 */
export async function runAttempt(
  env: AttemptEnv,
  deps: AttemptDependencies,
): Promise<AttemptResult> {
  const now = deps.now ?? (() => new Date());
  const secrets = attemptSecrets(env);
  const identity: AttemptIdentity = {
    attempt_id: env.attemptId,
    task_id: env.taskId,
    target_id: env.targetName,
    ...(env.attemptNumber === undefined ? {} : { attempt_number: env.attemptNumber }),
  };
  // The attempt id names the task too; executors add `task_id` to their own lines.
  const logger = deps.logger.child({ attempt_id: env.attemptId });
  const event = (type: string, extra: Record<string, unknown> = {}) =>
    attemptEvent(identity, type, now(), secrets, extra);
  const record = (events: LeviathanEvent[]) => deps.controlPlane.postEvents(env.targetName, events);
  // The real clock, whatever `now` says: executors and timers measure against it.
  const clock = new AttemptClock(new Date(), env.attemptTimeoutSeconds);
  const run: StepRunner = { logger, secrets, clock };

  try {
    await step(run, "record start", () =>
      record([event("attempt.created"), event("attempt.started")]),
    );
  } catch (error) {
    const message = redact(messageOf(error), secrets);
    logger.error({ error: message }, "control plane unreachable at start: stopping, git untouched");
    return { ok: false, outcome: "not_started", error: message };
  }

  const dir = deps.workspace ?? join(env.workspaceDir, env.attemptId);
  const limits = { ...DEFAULT_LIMITS, ...deps.limits };
  let branch: string | undefined;
  let published: Published;
  try {
    published = await makeAndPublish(env, deps, run, dir, limits, now, (name) => {
      branch = name;
    });
  } catch (error) {
    // Every step names its own failure; anything else went wrong while making the change.
    const failure = toAttemptFailure(error, "executor_failed", secrets);
    logger.error(
      {
        reason: failure.reason,
        failure_kind: failure.failureKind,
        error: redact(failure.summary, secrets),
      },
      `attempt failed: ${failure.reason}`,
    );
    const failed = event("attempt.failed", {
      ...failure.toPayload(),
      ...(branch ? { branch_name: branch } : {}),
    });
    const reported = await step(run, "record failure", () => record([failed])).then(
      () => true,
      () => false,
    );
    return { ok: false, outcome: "failed", failure, reported };
  } finally {
    await removeWorkspace(dir, logger);
  }

  const pr = {
    pr_number: published.prNumber,
    pr_url: published.prUrl,
    branch_name: published.branch,
    commit_sha: published.commitSha,
  };
  try {
    await step(run, "record success", () =>
      record([
        event("pr.created", { ...pr, title: published.prTitle, state: published.prState }),
        event("attempt.succeeded", pr),
      ]),
    );
  } catch (error) {
    const message = redact(messageOf(error), secrets);
    logger.error({ error: message, pr_url: pr.pr_url }, "PR open but its events not recorded");
    return {
      ok: false,
      outcome: "unreported",
      error: message,
      pr_url: pr.pr_url,
      branch: pr.branch_name,
    };
  }
  logger.info({ pr_url: pr.pr_url, reused: published.reused }, `attempt succeeded: ${pr.pr_url}`);
  return {
    ok: true,
    outcome: "succeeded",
    pr_url: pr.pr_url,
    pr_number: pr.pr_number,
    branch: pr.branch_name,
    commit_sha: pr.commit_sha,
    pr_reused: published.reused,
  };
}

/** Clone to PR; every failure leaves as an AttemptFailure with its reason. */
async function makeAndPublish(
  env: AttemptEnv,
  deps: AttemptDependencies,
  run: StepRunner,
  dir: string,
  limits: AttemptLimits,
  now: () => Date,
  onBranch: (branch: string) => void,
): Promise<Published> {
  const { logger, secrets, clock } = run;
  await rm(dir, { recursive: true, force: true });
  await step(run, "clone", () =>
    cloneShallow({
      url: env.targetRepoUrl,
      branch: env.targetBranch,
      dir,
      token: env.githubToken,
      timeoutMs: clock.limit("clone", limits.cloneMs),
      logger,
    }).catch((error: unknown) => {
      throw clock.blame(error, "clone_failed", secrets);
    }),
  );

  const { task, backlogText } = await step(run, "read task", () =>
    readTaskFromCheckout(dir, env.taskId),
  );
  const allowedPaths = checkTaskPaths(task, env.allowedPathPrefixes);
  const executorName = executorNameFor(task, env.defaultExecutor);
  const branch = `agent/${executorName}-${env.attemptId}`;
  onBranch(branch);
  logger.info({ executor: executorName, branch, allowed_paths: allowedPaths }, "task read");

  const gitBefore = await fingerprintGitDir(dir);
  await step(run, `execute ${executorName}`, () =>
    runExecutor(executorName, env, { dir, task, deadline: clock.deadline, logger }, secrets),
  );
  // Before any git command: a tampered .git/ must not get to run anything.
  const gitAfter = await fingerprintGitDir(dir);
  const tampered = compareGitFingerprints(gitBefore, gitAfter);
  if (tampered.length > 0) {
    throw scopeViolation(
      tampered.map((change) => ({ path: change.path, reason: `git metadata ${change.change}` })),
    );
  }

  clock.ensureTimeLeft("write back");
  await step(run, "write back", () =>
    writeBack({
      dir,
      taskId: task.id,
      attemptId: env.attemptId,
      branchName: branch,
      completedAt: completedAtFor(task, env.attemptId, now()),
      ...(executorMayEditBacklog(allowedPaths, env.allowedPathPrefixes)
        ? {}
        : { expectedText: backlogText }),
    }),
  );
  const paths = await step(run, "check invariants", async () => {
    const changes = await listChanges(dir, {
      timeoutMs: clock.limit("list changes", limits.gitMs),
      logger,
    });
    const checked = await checkCommitInvariants({
      dir,
      changes,
      allowedPaths,
      prefixes: env.allowedPathPrefixes,
      gitBefore,
      gitAfter,
    });
    if (!checked.ok) throw scopeViolation(checked.violations);
    if (checked.paths.length === 0) {
      throw attemptFailure("nothing_to_commit", "the task's change is empty: nothing to commit");
    }
    return checked.paths;
  });
  logger.info({ paths }, "changed paths within scope");

  const commitSha = await step(run, "commit and push", async () => {
    try {
      clock.ensureTimeLeft("commit");
      const sha = await commitPaths({ dir, paths, message: commitMessage(task, env), logger });
      await pushBranch({
        dir,
        branch,
        token: env.githubToken,
        timeoutMs: clock.limit("push", limits.pushMs),
        logger,
      });
      return sha;
    } catch (error) {
      throw clock.blame(error, "push_failed", secrets);
    }
  });

  const title = pullRequestTitle(task);
  const body = pullRequestBody({
    targetId: env.targetName,
    task,
    attemptId: env.attemptId,
    ...(env.attemptNumber === undefined ? {} : { attemptNumber: env.attemptNumber }),
    executor: executorName,
    branch,
    baseBranch: env.targetBranch,
    allowedPaths,
    prefixes: env.allowedPathPrefixes,
  });
  const { pullRequest, reused } = await step(run, "pull request", () =>
    openPullRequest({
      forge: deps.forge,
      request: {
        title: redact(title, secrets),
        body: redact(body, secrets),
        head: branch,
        base: env.targetBranch,
      },
      timeoutMs: clock.limit("pull request", limits.forgeMs),
      secrets,
      logger,
    }).catch((error: unknown) => {
      throw clock.blame(error, "pr_failed", secrets);
    }),
  );
  return {
    branch,
    commitSha,
    prNumber: pullRequest.number,
    prUrl: pullRequest.html_url,
    prTitle: pullRequest.title,
    prState: pullRequest.state,
    reused,
  };
}

/** DESIGN §6 before anything runs: the task's paths, each within the target's prefixes. */
function checkTaskPaths(task: BacklogTask, prefixes: readonly string[]): string[] {
  const checked = checkAllowedPaths(task.allowed_paths ?? [], prefixes);
  if (checked.ok) return checked.paths;
  throw scopeViolation(
    checked.problems.map((problem) => ({
      path: problem.path === "" ? "allowed_paths" : problem.path,
      reason: problem.reason,
    })),
  );
}

async function runExecutor(
  name: ExecutorName,
  env: AttemptEnv,
  context: { dir: string; task: BacklogTask; deadline: Date; logger: Logger },
  secrets: readonly string[],
): Promise<void> {
  try {
    const executor = selectExecutor(name, {
      ...(env.executorCommand ? { command: env.executorCommand } : {}),
      secrets,
    });
    await executor.run(context);
  } catch (error) {
    throw toAttemptFailure(error, "executor_failed", secrets);
  }
}

/**
 * The write-back's time. When the branch already records this very attempt as having
 * completed the task (its PR was merged, and the pod ran again), the time it recorded is
 * kept, so the write-back changes nothing and the attempt ends with `nothing_to_commit`
 * instead of a PR that only moves a timestamp.
 */
export function completedAtFor(task: BacklogTask, attemptId: string, now: Date): Date {
  const recorded = task.raw.completed_at;
  if (
    task.raw.last_attempt_id === attemptId &&
    task.raw.status === "completed" &&
    typeof recorded === "string"
  ) {
    const at = new Date(recorded);
    if (!Number.isNaN(at.getTime()) && at.toISOString() === recorded) return at;
  }
  return now;
}

function commitMessage(task: BacklogTask, env: AttemptEnv): string {
  const number = env.attemptNumber === undefined ? "" : ` (number ${env.attemptNumber})`;
  return `${pullRequestTitle(task)}\n\nTask: ${task.id}\nAttempt: ${env.attemptId}${number}\n`;
}

function scopeViolation(violations: ScopeViolation[]): AttemptFailure {
  const listed = violations
    .slice(0, 20)
    .map((violation) => `${violation.path} (${violation.reason})`)
    .join("; ");
  const more = violations.length > 20 ? ` and ${violations.length - 20} more` : "";
  return attemptFailure("scope_violation", `outside the task's scope: ${listed}${more}`, {
    violations,
  });
}

/** Every form of both tokens, for redaction. */
function attemptSecrets(env: AttemptEnv): string[] {
  return [...tokenForms(env.githubToken), ...tokenForms(env.controlPlaneToken)];
}

/**
 * The attempt's deadline, a little before `ATTEMPT_TIMEOUT_SECONDS` runs out (the Job's
 * `activeDeadlineSeconds` is the same number and counts from earlier), so that a step stopped
 * at the deadline still leaves time to record `attempt.failed`.
 */
export class AttemptClock {
  readonly deadline: Date;

  constructor(started: Date, timeoutSeconds: number) {
    const reserveMs = Math.min(30_000, timeoutSeconds * 100);
    this.deadline = new Date(started.getTime() + timeoutSeconds * 1000 - reserveMs);
  }

  /** `stepMs` cut to the time left; `timeout` when none is left. */
  limit(step: string, stepMs: number): number {
    return Math.max(1, Math.min(stepMs, this.ensureTimeLeft(step)));
  }

  /**
   * A step's error as its failure: `timeout` when the attempt's deadline has passed (the step
   * was cut short by it, not by the forge), else `reason`.
   */
  blame(error: unknown, reason: FailureReason, secrets: readonly string[]): AttemptFailure {
    const failure = toAttemptFailure(error, reason, secrets);
    if (failure.reason === "timeout" || Date.now() < this.deadline.getTime()) return failure;
    const message = redact(messageOf(error), secrets);
    return attemptFailure("timeout", `the attempt's deadline passed: ${message}`);
  }

  /** The milliseconds left; `timeout` when none are. */
  ensureTimeLeft(step: string): number {
    const left = this.deadline.getTime() - Date.now();
    if (left <= 0) {
      throw attemptFailure("timeout", `the attempt's deadline passed before ${step}`);
    }
    return left;
  }
}

interface StepRunner {
  logger: Logger;
  secrets: readonly string[];
  clock: AttemptClock;
}

/** Runs one step and logs a line a person can follow: its name, outcome and duration. */
async function step<T>(run: StepRunner, name: string, body: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    const value = await body();
    run.logger.info({ step: name, ms: Math.round(performance.now() - started) }, `${name}: done`);
    return value;
  } catch (error) {
    run.logger.warn(
      {
        step: name,
        ms: Math.round(performance.now() - started),
        error: redact(messageOf(error), run.secrets),
      },
      `${name}: failed`,
    );
    throw error;
  }
}

async function removeWorkspace(dir: string, logger: Logger): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  } catch (error) {
    logger.warn({ dir, error: messageOf(error) }, "could not remove the workspace");
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
