import { mkdir, rm } from "node:fs/promises";
import { dirname } from "node:path";
import type { BacklogTask } from "../backlog/types.ts";
import { cloneShallow } from "../git/clone-shallow.ts";
import { headSha } from "../git/head-sha.ts";
import { listTree, type TreeEntry } from "../git/list-tree.ts";
import { checkAllowedPaths } from "../scope/check-path.ts";
import { type AttemptContext, step } from "./attempt-context.ts";
import { AttemptFailure, attemptFailure } from "./attempt-failure.ts";
import { builtInExecutor, executorNameFor } from "./executors/select-executor.ts";
import type { ExecutorIsolation, IsolationUnavailable } from "./isolation/executor-isolation.ts";
import { readBacklogText, readTask } from "./read-task.ts";
import { scopeViolation } from "./scope-violation.ts";
import type { PreparedAttempt, TrustedLayout } from "./trusted-layout.ts";
import { createExecutorArea, executorAreaAt } from "./workspace/executor-area.ts";
import type { HandOver } from "./workspace/hand-over.ts";
import { materializeCheckout } from "./workspace/materialize-checkout.ts";

/** The base commit as the trusted part reads it: its files and the task. */
export interface BaseCommit {
  sha: string;
  tree: Map<string, TreeEntry>;
  task: BacklogTask;
  backlogText: string;
  /** The task's `allowed_paths`, normalised and checked against the target's prefixes. */
  allowedPaths: string[];
}

/**
 * The trusted part's first half: clone the target branch into a git directory the executor
 * never sees (no work tree), read the task from its objects, check the task's paths, and make
 * the executor's checkout — the base commit's exact files and a throwaway `.git` — in a folder
 * handed over to the executor. A built-in executor then runs there, in this process.
 */
export async function prepareAttempt(
  context: AttemptContext,
  options: {
    layout: TrustedLayout;
    areaRoot: string;
    isolation: ExecutorIsolation | IsolationUnavailable;
    /** How the checkout becomes the executor's; default the isolation's. */
    handOver?: HandOver;
  },
): Promise<{ prepared: PreparedAttempt; base: BaseCommit }> {
  const { env, clock, limits, logger, secrets } = context;
  const { layout } = options;
  await rm(layout.root, { recursive: true, force: true });
  await mkdir(dirname(layout.repo), { recursive: true, mode: 0o700 });
  await step(context, "clone", () =>
    cloneShallow({
      url: env.targetRepoUrl,
      branch: env.targetBranch,
      dir: layout.repo,
      token: env.githubToken,
      noCheckout: true,
      timeoutMs: clock.limit("clone", limits.cloneMs),
      logger,
    }).catch((error: unknown) => {
      throw clock.blame(error, "clone_failed", secrets);
    }),
  );
  const base = await step(context, "read task", () => readBase(context, layout.repo));
  const executor = executorNameFor(base.task, env.defaultExecutor);
  const branch = `agent/${executor}-${env.attemptId}`;
  logger.info({ executor, branch, allowed_paths: base.allowedPaths }, "task read");

  if (executor === "command") {
    if ("unavailable" in options.isolation) {
      throw attemptFailure(
        "isolation_unavailable",
        `the command executor needs isolation: ${options.isolation.unavailable}`,
      );
    }
    if (!env.executorCommand) {
      throw new AttemptFailure(
        "executor_failed",
        "task",
        "the command executor needs LEVIATHAN_EXECUTOR_COMMAND",
      );
    }
  }
  const handOver =
    options.handOver ??
    ("unavailable" in options.isolation ? { kind: "none" as const } : options.isolation.handOver);
  const area = executorAreaAt(options.areaRoot);
  const materialized = await step(context, "copy the checkout for the executor", async () => {
    await createExecutorArea(area, handOver, { ...base.task.raw, id: base.task.id });
    return materializeCheckout({
      trustedDir: layout.repo,
      tree: base.tree,
      checkout: area.checkout,
      how: handOver,
      timeoutMs: clock.limit("copy", limits.gitMs),
      logger,
    });
  });
  logger.info({ files: materialized.files }, "executor's checkout ready");

  if (executor !== "command") {
    await step(context, `execute ${executor}`, () =>
      builtInExecutor(executor)
        .run({ dir: area.checkout, task: base.task, deadline: clock.deadline, logger })
        .catch((error: unknown) => {
          throw clock.blame(error, "executor_failed", secrets);
        }),
    );
  }
  const prepared: PreparedAttempt = {
    version: 1,
    startedAt: clock.started.toISOString(),
    isolation: options.isolation.isolation,
    base: base.sha,
    executor,
    branch,
    areaRoot: area.root,
    stamps: [...materialized.stamps],
    skipped: materialized.skipped,
  };
  return { prepared, base };
}

/** The base commit's tree and task, from the trusted repository's objects alone. */
export async function readBase(context: AttemptContext, repo: string): Promise<BaseCommit> {
  const { env, clock, limits, logger } = context;
  const sha = await headSha(repo, { logger });
  const tree = await listTree(repo, sha, {
    timeoutMs: clock.limit("ls-tree", limits.gitMs),
    logger,
  });
  const backlogText = await readBacklogText(repo, tree);
  const { task } = readTask(backlogText, env.taskId);
  const checked = checkAllowedPaths(task.allowed_paths ?? [], env.allowedPathPrefixes);
  if (!checked.ok) {
    throw scopeViolation(
      checked.problems.map((problem) => ({
        path: problem.path === "" ? "allowed_paths" : problem.path,
        reason: problem.reason,
      })),
    );
  }
  return { sha, tree, task, backlogText, allowedPaths: checked.paths };
}
