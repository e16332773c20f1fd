import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { errorMessage } from "../errors/error-message.ts";
import { EXECUTE_PHASE_ENV } from "../jobs/attempt-phases.ts";
import type { Logger } from "../log/logger.ts";
import { type AttemptDependencies, createAttemptContext } from "./attempt-context.ts";
import type { AttemptEnv } from "./attempt-env.ts";
import { AttemptFailure } from "./attempt-failure.ts";
import { deliverAttempt } from "./deliver-attempt.ts";
import {
  type CommandOutcome,
  outcomeFailure,
  parseExecutorCommand,
  runCommand,
} from "./executors/command.ts";
import type { ExecutorIsolation } from "./isolation/executor-isolation.ts";
import { prepareAttempt } from "./prepare-attempt.ts";
import {
  type AttemptResult,
  DEFAULT_LIMITS,
  recordFailure,
  recordStart,
  recordSuccess,
} from "./run-attempt.ts";
import { readPrepared, trustedLayoutAt, writePrepared } from "./trusted-layout.ts";
import { executorAreaAt } from "./workspace/executor-area.ts";

/**
 * The attempt split across a Job's containers. `prepare` and `deliver` hold the tokens (Secret
 * volumes) and the trusted folder; `execute` holds neither and shares only the workspace with
 * them. Everything `execute` writes there — the checkout, its account of the command — is
 * judged by `deliver`, never trusted.
 */

/** The executor is its own container: what it starts ends with it. */
const CONTAINER: ExecutorIsolation = {
  isolation: "container",
  wrap: (argv) => [...argv],
  handOver: { kind: "group-writable" },
  sweep: { kind: "process-group" },
};

/** What `prepare` tells `execute` (in the workspace: `execute` can read nothing else). */
interface ExecuteOrder {
  command: boolean;
  /** The attempt's deadline (ISO 8601). */
  deadline: string;
}

function areaRootOf(workspaceDir: string, attemptId: string): string {
  return join(workspaceDir, attemptId);
}

/** Init container `prepare`: the start events, the clone, the task, the executor's checkout. */
export async function runPreparePhase(
  env: AttemptEnv,
  deps: AttemptDependencies,
  trustedDir: string,
): Promise<AttemptResult | null> {
  const context = createAttemptContext(env, deps, DEFAULT_LIMITS);
  const started = await recordStart(context, CONTAINER.isolation);
  if (started) return started;
  const areaRoot = areaRootOf(env.workspaceDir, env.attemptId);
  try {
    const layout = trustedLayoutAt(join(trustedDir, env.attemptId));
    const { prepared } = await prepareAttempt(context, {
      layout,
      areaRoot,
      isolation: CONTAINER,
    });
    await writePrepared(layout, prepared);
    const order: ExecuteOrder = {
      command: prepared.executor === "command",
      deadline: context.clock.deadline.toISOString(),
    };
    await writeFile(join(areaRoot, "execute.json"), `${JSON.stringify(order)}\n`, { mode: 0o644 });
    return null;
  } catch (error) {
    return recordFailure(context, error);
  }
}

/**
 * Init container `execute`, which holds no credential: runs the command in the executor's
 * checkout when the task's executor is `command`, and writes how it ended for `deliver`.
 * Always exits 0 (a failed init container would stop the pod before `deliver` could record
 * the failure). Its environment is only `EXECUTE_PHASE_ENV` plus the executor's own Secret.
 */
export async function runExecutePhase(
  processEnv: NodeJS.ProcessEnv,
  logger: Logger,
): Promise<number> {
  const workspaceDir = processEnv.LEVIATHAN_WORKSPACE_DIR ?? "";
  const attemptId = processEnv.ATTEMPT_ID ?? "";
  if (!workspaceDir || !/^[A-Za-z0-9_.-]+$/.test(attemptId) || attemptId.includes("..")) {
    logger.error("execute: LEVIATHAN_WORKSPACE_DIR and ATTEMPT_ID are needed");
    return 0;
  }
  const area = executorAreaAt(areaRootOf(workspaceDir, attemptId));
  let outcome: CommandOutcome;
  try {
    const order = JSON.parse(
      await readFile(join(area.root, "execute.json"), "utf8"),
    ) as ExecuteOrder;
    if (!order.command) {
      logger.info("execute: the task's executor is built in and ran in prepare");
      return 0;
    }
    const command = parseExecutorCommand(processEnv.LEVIATHAN_EXECUTOR_COMMAND);
    outcome = await runCommand({
      command,
      area,
      isolation: CONTAINER,
      executorEnv: executorSecretEnv(processEnv),
      deadline: new Date(order.deadline),
      logger,
      secrets: [],
    });
  } catch (error) {
    outcome = { status: "not_started", error: errorMessage(error), ms: 0 };
  }
  await writeFile(area.resultFile, `${JSON.stringify(outcome)}\n`, { mode: 0o644 }).catch(
    (error: unknown) => logger.error({ error: errorMessage(error) }, "execute: result not written"),
  );
  return 0;
}

/** Container `deliver`: the executor's outcome and files judged, then commit, push, PR. */
export async function runDeliverPhase(
  env: AttemptEnv,
  deps: AttemptDependencies,
  trustedDir: string,
): Promise<AttemptResult> {
  const layout = trustedLayoutAt(join(trustedDir, env.attemptId));
  let context = createAttemptContext(env, deps, DEFAULT_LIMITS);
  let branch: string | undefined;
  try {
    const prepared = await readPrepared(layout);
    // The deadline counts from the attempt's start in `prepare`, not from this container's.
    context = createAttemptContext(env, deps, DEFAULT_LIMITS, new Date(prepared.startedAt));
    branch = prepared.branch;
    if (prepared.executor === "command") {
      const outcome = await readOutcome(executorAreaAt(prepared.areaRoot).resultFile);
      const failure = outcomeFailure((env.executorCommand ?? ["command"])[0] ?? "command", outcome);
      if (failure) throw failure;
    }
    return recordSuccess(context, await deliverAttempt(context, layout, prepared));
  } catch (error) {
    return recordFailure(context, error, branch);
  }
}

/** The `execute` container's account, checked for shape only (the executor could have written it). */
async function readOutcome(file: string): Promise<CommandOutcome> {
  let parsed: Partial<CommandOutcome> & Record<string, unknown>;
  try {
    parsed = JSON.parse(await readFile(file, "utf8"));
  } catch {
    throw new AttemptFailure(
      "executor_failed",
      "task",
      "the execute container left no account of the command",
    );
  }
  const output = typeof parsed.output === "string" ? parsed.output.slice(-2_000) : "";
  const ms = typeof parsed.ms === "number" ? parsed.ms : 0;
  if (parsed.status === "timed_out") return { status: "timed_out", output, ms };
  if (parsed.status === "exited" && (typeof parsed.code === "number" || parsed.code === null)) {
    const signal = typeof parsed.signal === "string" ? parsed.signal : null;
    return { status: "exited", code: parsed.code, signal, output, ms };
  }
  const error = typeof parsed.error === "string" ? parsed.error.slice(0, 500) : "unknown";
  return { status: "not_started", error, ms };
}

/**
 * The executor's own variables in the `execute` container: everything but the attempt's
 * variables and what Kubernetes itself injects (the `leviathan-executor` Secret's keys and the
 * image's own settings remain).
 */
function executorSecretEnv(processEnv: NodeJS.ProcessEnv): Record<string, string> {
  const ours = new Set<string>(EXECUTE_PHASE_ENV);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(processEnv)) {
    if (value === undefined || ours.has(name) || /^KUBERNETES_/.test(name)) continue;
    env[name] = value;
  }
  return env;
}
