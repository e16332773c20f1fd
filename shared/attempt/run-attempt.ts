import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { errorMessage } from "../errors/error-message.ts";
import { DEFAULT_CLONE_TIMEOUT_MS } from "../git/clone-shallow.ts";
import { DEFAULT_PUSH_TIMEOUT_MS } from "../git/push-branch.ts";
import { DEFAULT_GIT_TIMEOUT_MS } from "../git/run-git.ts";
import { type Logger, redact } from "../log/logger.ts";
import {
  type AttemptContext,
  type AttemptDependencies,
  type AttemptLimits,
  createAttemptContext,
  step,
} from "./attempt-context.ts";
import type { AttemptEnv } from "./attempt-env.ts";
import { type AttemptFailure, toAttemptFailure } from "./attempt-failure.ts";
import { deliverAttempt, type Published } from "./deliver-attempt.ts";
import { outcomeFailure, runCommand } from "./executors/command.ts";
import { detectIsolation } from "./isolation/detect-isolation.ts";
import type { ExecutorIsolation, IsolationUnavailable } from "./isolation/executor-isolation.ts";
import { readExecutorEnv } from "./isolation/read-executor-env.ts";
import { prepareAttempt } from "./prepare-attempt.ts";
import { trustedLayoutAt } from "./trusted-layout.ts";
import { executorAreaAt } from "./workspace/executor-area.ts";

export type { AttemptDependencies, AttemptLimits } from "./attempt-context.ts";
export { AttemptClock } from "./attempt-context.ts";
export { completedAtFor } from "./deliver-attempt.ts";

export interface RunAttemptOptions extends AttemptDependencies {
  /** The trusted part's folder; default `<LEVIATHAN_WORKSPACE_DIR>/<attempt_id>`. Removed at the end. */
  trustedDir?: string;
  /** The executor's folder; default a new one under the system's temp folder. Removed at the end. */
  executorDir?: string;
  /** How the command executor is isolated; default the strongest this machine gives. */
  isolation?: ExecutorIsolation | IsolationUnavailable;
}

export const DEFAULT_LIMITS: AttemptLimits = {
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

/**
 * One attempt in one process (the process runner, or `leviathan attempt` by hand): the
 * trusted part clones and prepares, the executor runs — a built-in one here, `command`
 * isolated as this machine allows (another user, its own PID namespace) and swept when it
 * exits — and the trusted part delivers what it left. `attempt.created` and `attempt.started`
 * (with the isolation) first; any failure becomes `attempt.failed`. If the control plane
 * cannot take the first events, nothing else happens (the tick later records the attempt as
 * lost). Never throws.
 */
export async function runAttempt(
  env: AttemptEnv,
  options: RunAttemptOptions,
): Promise<AttemptResult> {
  const context = createAttemptContext(env, options, DEFAULT_LIMITS);
  const isolation =
    options.isolation ??
    (await detectIsolation({ setting: env.executorIsolation, executorUid: env.executorUid }));
  const started = await recordStart(context, isolation.isolation);
  if (started) return started;

  const layout = trustedLayoutAt(options.trustedDir ?? join(env.workspaceDir, env.attemptId));
  let areaRoot = options.executorDir;
  let branch: string | undefined;
  let published: Published;
  try {
    areaRoot ??= await mkdtemp(join(tmpdir(), "leviathan-executor-"));
    const { prepared } = await prepareAttempt(context, { layout, areaRoot, isolation });
    branch = prepared.branch;
    if (prepared.executor === "command" && !("unavailable" in isolation)) {
      await runIsolatedCommand(context, isolation, areaRoot);
    }
    published = await deliverAttempt(context, layout, prepared);
  } catch (error) {
    return recordFailure(context, error, branch);
  } finally {
    await removeFolder(layout.root, context.logger);
    if (areaRoot) await removeFolder(areaRoot, context.logger);
  }
  return recordSuccess(context, published);
}

/** The command executor in this process's isolation; its failure is the attempt's. */
async function runIsolatedCommand(
  context: AttemptContext,
  isolation: ExecutorIsolation,
  areaRoot: string,
): Promise<void> {
  const { env, logger, secrets, clock } = context;
  const command = env.executorCommand ?? [];
  const executorEnv = env.executorEnvFile
    ? await readExecutorEnv(env.executorEnvFile, secrets)
    : {};
  const outcome = await step(context, "execute command", () =>
    runCommand({
      command,
      area: executorAreaAt(areaRoot),
      isolation,
      executorEnv,
      deadline: clock.deadline,
      logger,
      secrets,
    }),
  );
  const failure = outcomeFailure(command[0] ?? "command", outcome);
  if (failure) throw failure;
}

/** `attempt.created` and `attempt.started`; a result when they could not be recorded. */
export async function recordStart(
  context: AttemptContext,
  isolation: string,
): Promise<AttemptResult | null> {
  try {
    await step(context, "record start", () =>
      context.record([
        context.event("attempt.created"),
        context.event("attempt.started", { isolation }),
      ]),
    );
    return null;
  } catch (error) {
    const message = redact(errorMessage(error), context.secrets);
    context.logger.error(
      { error: message },
      "control plane unreachable at start: stopping, git untouched",
    );
    return { ok: false, outcome: "not_started", error: message };
  }
}

/** `attempt.failed` with the failure's reason, kind and redacted summary. */
export async function recordFailure(
  context: AttemptContext,
  error: unknown,
  branch?: string,
): Promise<AttemptResult> {
  // Every step names its own failure; anything else went wrong while making the change.
  const failure = toAttemptFailure(error, "executor_failed", context.secrets);
  context.logger.error(
    {
      reason: failure.reason,
      failure_kind: failure.failureKind,
      error: redact(failure.summary, context.secrets),
    },
    `attempt failed: ${failure.reason}`,
  );
  const failed = context.event("attempt.failed", {
    ...failure.toPayload(),
    ...(branch ? { branch_name: branch } : {}),
  });
  const reported = await step(context, "record failure", () => context.record([failed])).then(
    () => true,
    () => false,
  );
  return { ok: false, outcome: "failed", failure, reported };
}

/** `pr.created` and `attempt.succeeded`. */
export async function recordSuccess(
  context: AttemptContext,
  published: Published,
): Promise<AttemptResult> {
  const pr = {
    pr_number: published.prNumber,
    pr_url: published.prUrl,
    branch_name: published.branch,
    commit_sha: published.commitSha,
  };
  try {
    await step(context, "record success", () =>
      context.record([
        context.event("pr.created", { ...pr, title: published.prTitle, state: published.prState }),
        context.event("attempt.succeeded", pr),
      ]),
    );
  } catch (error) {
    const message = redact(errorMessage(error), context.secrets);
    context.logger.error(
      { error: message, pr_url: pr.pr_url },
      "PR open but its events not recorded",
    );
    return {
      ok: false,
      outcome: "unreported",
      error: message,
      pr_url: pr.pr_url,
      branch: pr.branch_name,
    };
  }
  context.logger.info(
    { pr_url: pr.pr_url, reused: published.reused },
    `attempt succeeded: ${pr.pr_url}`,
  );
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

async function removeFolder(dir: string, logger: Logger): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  } catch (error) {
    logger.warn({ dir, error: errorMessage(error) }, "could not remove a folder of the attempt");
  }
}
