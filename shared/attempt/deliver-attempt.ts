import { join } from "node:path";
import type { BacklogTask } from "../backlog/types.ts";
import { buildCommit, type TreeChange } from "../git/build-commit.ts";
import { changedPathsBetween, pushBranch, remoteBranchSha } from "../git/push-branch.ts";
import { blobSha, writeBlob } from "../git/write-blob.ts";
import { redact } from "../log/logger.ts";
import { BACKLOG_PATH } from "../scope/check-path.ts";
import { type AttemptContext, step } from "./attempt-context.ts";
import { AttemptFailure, attemptFailure } from "./attempt-failure.ts";
import { checkCommitInvariants } from "./check-invariants.ts";
import { openPullRequest } from "./open-pull-request.ts";
import { readBase } from "./prepare-attempt.ts";
import { pullRequestBody, pullRequestTitle } from "./pull-request-body.ts";
import { scopeViolation } from "./scope-violation.ts";
import type { PreparedAttempt, TrustedLayout } from "./trusted-layout.ts";
import { executorAreaAt } from "./workspace/executor-area.ts";
import { FileTooLargeError, readFileExactly } from "./workspace/read-file-exactly.ts";
import { type ExecutorChange, scanChanges } from "./workspace/scan-changes.ts";
import { applyWriteBack, executorMayEditBacklog } from "./write-back.ts";

/** The size limits on one change when the config sets none (`max_changed_files`, `max_change_bytes`). */
export const DEFAULT_MAX_CHANGED_FILES = 100;
export const DEFAULT_MAX_CHANGE_BYTES = 10 * 1024 * 1024;

/** What the delivery produced, for the success events. */
export interface Published {
  branch: string;
  commitSha: string;
  prNumber: number;
  prUrl: string;
  prTitle: string;
  prState: string;
  reused: boolean;
}

/**
 * The trusted part's second half, once nothing the executor started is alive: the change
 * computed from the files it left against the base commit, every rule checked on exactly the
 * bytes that will be committed, the write-back applied, the commit built from those bytes in
 * the trusted git directory, that commit pushed by its sha, the branch checked to hold exactly
 * the checked paths, and the PR opened (or the one this attempt opened before, reused).
 */
export async function deliverAttempt(
  context: AttemptContext,
  layout: TrustedLayout,
  prepared: PreparedAttempt,
): Promise<Published> {
  const { env, clock, limits, logger, secrets } = context;
  const base = await readBase(context, layout.repo);
  if (base.sha !== prepared.base) {
    throw new Error(`the trusted clone moved from ${prepared.base} to ${base.sha}`);
  }
  const area = executorAreaAt(prepared.areaRoot);
  const changes = await step(context, "scan the executor's files", () =>
    scanChanges({
      checkout: area.checkout,
      tree: base.tree,
      stamps: new Map(prepared.stamps),
      skipped: prepared.skipped,
    }),
  );
  const mayEditBacklog = executorMayEditBacklog(base.allowedPaths, env.allowedPathPrefixes);
  const violations = checkCommitInvariants({
    changes,
    allowedPaths: base.allowedPaths,
    prefixes: env.allowedPathPrefixes,
    mayEditBacklog,
  });
  if (violations.length > 0) throw scopeViolation(violations);

  clock.ensureTimeLeft("write back");
  const gitDir = join(layout.repo, ".git");
  const treeChanges = await step(context, "check and store the change", () =>
    storeChange(context, {
      gitDir,
      checkout: area.checkout,
      changes,
      task: base.task,
      backlogText: base.backlogText,
      backlogMode: base.tree.get(BACKLOG_PATH)?.mode ?? "100644",
      branch: prepared.branch,
      baseTreeSha: (path) => base.tree.get(path)?.sha,
    }),
  );
  const paths = treeChanges.map((change) => change.path).sort();
  logger.info({ paths }, "changed paths within scope");

  const commitSha = await step(context, "commit and push", async () => {
    try {
      clock.ensureTimeLeft("commit");
      const sha = await buildCommit({
        dir: layout.repo,
        base: base.sha,
        changes: treeChanges,
        message: commitMessage(base.task, env.attemptId, env.attemptNumber),
        timeoutMs: clock.limit("commit", limits.gitMs),
        logger,
      });
      await pushBranch({
        dir: layout.repo,
        commit: sha,
        branch: prepared.branch,
        token: env.githubToken,
        timeoutMs: clock.limit("push", limits.pushMs),
        logger,
      });
      return sha;
    } catch (error) {
      throw clock.blame(error, "push_failed", secrets);
    }
  });
  await step(context, "check the pushed branch", () =>
    checkPushedBranch(context, layout.repo, base.sha, commitSha, prepared.branch, paths),
  );

  const title = pullRequestTitle(base.task);
  const body = pullRequestBody({
    targetId: env.targetName,
    task: base.task,
    attemptId: env.attemptId,
    ...(env.attemptNumber === undefined ? {} : { attemptNumber: env.attemptNumber }),
    executor: prepared.executor,
    isolation: prepared.isolation,
    branch: prepared.branch,
    baseBranch: env.targetBranch,
    allowedPaths: base.allowedPaths,
    prefixes: env.allowedPathPrefixes,
  });
  const { pullRequest, reused } = await step(context, "pull request", () =>
    openPullRequest({
      forge: context.deps.forge,
      request: {
        title: redact(title, secrets),
        body: redact(body, secrets),
        head: prepared.branch,
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
    branch: prepared.branch,
    commitSha,
    prNumber: pullRequest.number,
    prUrl: pullRequest.html_url,
    prTitle: pullRequest.title,
    prState: pullRequest.state,
    reused,
  };
}

/**
 * The executor's change as blobs in the trusted git directory, plus the write-back: each
 * file's bytes read once, through a descriptor that follows no link, counted against the size
 * limits, and stored as they are. Changes that end up equal to the base are dropped; none left
 * is `nothing_to_commit`.
 */
async function storeChange(
  context: AttemptContext,
  input: {
    gitDir: string;
    checkout: string;
    changes: readonly ExecutorChange[];
    task: BacklogTask;
    backlogText: string;
    backlogMode: string;
    branch: string;
    baseTreeSha: (path: string) => string | undefined;
  },
): Promise<TreeChange[]> {
  const { env } = context;
  const maxFiles = env.maxChangedFiles ?? DEFAULT_MAX_CHANGED_FILES;
  const maxBytes = env.maxChangeBytes ?? DEFAULT_MAX_CHANGE_BYTES;
  const touched = new Set([...input.changes.map((change) => change.path), BACKLOG_PATH]);
  if (touched.size > maxFiles) {
    throw attemptFailure(
      "change_too_large",
      `the change touches ${touched.size} files, more than max_changed_files (${maxFiles})`,
    );
  }
  let bytes = 0;
  const charge = (size: number, path: string) => {
    bytes += size;
    if (bytes > maxBytes) {
      throw attemptFailure(
        "change_too_large",
        `the change is over max_change_bytes (${maxBytes} bytes) at ${path}`,
      );
    }
  };
  // Sizes first: nothing is read when the sum is already too large.
  for (const change of input.changes) if (change.now) charge(change.now.size, change.path);
  bytes = 0;

  const result: TreeChange[] = [];
  let backlogText = input.backlogText;
  for (const change of input.changes) {
    if (change.kind === "deleted") {
      if (change.path === BACKLOG_PATH) {
        throw scopeViolation([{ path: BACKLOG_PATH, reason: "deleted by the executor" }]);
      }
      result.push({ path: change.path, deleted: true });
      continue;
    }
    const content = await readChanged(
      join(input.checkout, change.path),
      maxBytes - bytes,
      change.path,
    );
    charge(content.length, change.path);
    if (change.path === BACKLOG_PATH) {
      backlogText = content.toString("utf8");
      continue;
    }
    const mode = change.now?.mode === "100755" ? "100755" : "100644";
    result.push({ path: change.path, mode, sha: await writeBlob(input.gitDir, content) });
  }

  const completedAt = completedAtFor(input.task, env.attemptId, context.now());
  const written = applyWriteBack(backlogText, input.task.id, {
    status: "completed",
    last_attempt_id: env.attemptId,
    branch_name: input.branch,
    completed_at: completedAt.toISOString(),
  });
  const backlog = Buffer.from(written.text, "utf8");
  charge(backlog.length, BACKLOG_PATH);
  if (blobSha(backlog) !== input.baseTreeSha(BACKLOG_PATH)) {
    const mode = input.backlogMode === "100755" ? "100755" : "100644";
    result.push({ path: BACKLOG_PATH, mode, sha: await writeBlob(input.gitDir, backlog) });
  }
  const real = result.filter(
    (change) => "deleted" in change || change.sha !== input.baseTreeSha(change.path),
  );
  if (real.length === 0) {
    throw attemptFailure("nothing_to_commit", "the task's change is empty: nothing to commit");
  }
  return real;
}

async function readChanged(file: string, budget: number, path: string): Promise<Buffer> {
  try {
    return await readFileExactly(file, Math.max(0, budget));
  } catch (error) {
    if (error instanceof FileTooLargeError) {
      throw attemptFailure("change_too_large", `the change is over max_change_bytes at ${path}`);
    }
    throw new AttemptFailure("scope_violation", "task", `${path} cannot be read back`, {
      violations: [{ path, reason: "cannot be read back (changed, or not a regular file)" }],
    });
  }
}

/**
 * Before the PR: the remote branch must be the commit just pushed, and that commit must differ
 * from the base in exactly the checked paths. Anything else means someone else wrote the
 * branch meanwhile, and no PR is opened for what was not checked.
 */
async function checkPushedBranch(
  context: AttemptContext,
  repo: string,
  base: string,
  commit: string,
  branch: string,
  paths: readonly string[],
): Promise<void> {
  const { env, clock, limits, logger, secrets } = context;
  try {
    const remote = await remoteBranchSha({
      dir: repo,
      branch,
      token: env.githubToken,
      timeoutMs: clock.limit("ls-remote", limits.pushMs),
      logger,
    });
    if (remote !== commit) {
      throw new Error(
        `${branch} is at ${remote ?? "nothing"} on the forge, not the pushed ${commit}`,
      );
    }
    const pushed = (
      await changedPathsBetween({ dir: repo, from: base, to: commit, logger })
    ).sort();
    if (pushed.join("\0") !== [...paths].sort().join("\0")) {
      throw new Error(
        `the pushed commit changes ${pushed.join(", ")}, not the checked ${paths.join(", ")}`,
      );
    }
  } catch (error) {
    throw clock.blame(error, "push_failed", secrets);
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

function commitMessage(task: BacklogTask, attemptId: string, attemptNumber?: number): string {
  const number = attemptNumber === undefined ? "" : ` (number ${attemptNumber})`;
  return `${pullRequestTitle(task)}\n\nTask: ${task.id}\nAttempt: ${attemptId}${number}\n`;
}
