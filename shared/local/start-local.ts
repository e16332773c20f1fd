import { join, resolve } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { CronExpressionParser } from "cron-parser";
import { stringify } from "yaml";
import {
  DEFAULT_EXECUTOR_UID,
  detectIsolation,
  parseExecutorUid,
} from "../attempt/isolation/detect-isolation.ts";
import { leviathanHome } from "../config/leviathan-home.ts";
import { LOCAL_CONFIG_PATH, loadConfig } from "../config/load-config.ts";
import { type AutonomyConfig, parseRepoUrl } from "../config/schema.ts";
import { ControlPlaneClient } from "../control-plane/client/control-plane-client.ts";
import { jobNameFor } from "../events/ids.ts";
import { forgeFromConfig } from "../forge/github/forge-from-config.ts";
import { startLocalForge } from "../forge/local/start-local-forge.ts";
import { projectRoot } from "../fs/project-root.ts";
import { writeFileAtomically } from "../fs/write-file-atomically.ts";
import {
  createProcessJobRunner,
  type ProcessJobRunner,
} from "../jobs/process/process-job-runner.ts";
import { createLogger } from "../log/logger.ts";
import { stopSignal } from "../process/stop-signal.ts";
import { type ComposedTick, composeTick } from "../scheduler/compose-tick.ts";
import { describeDecision } from "../scheduler/describe-decision.ts";
import type { TickDependencies } from "../scheduler/run-tick.ts";
import { parseTickEnv } from "../scheduler/tick-env.ts";
import { createTickHandler } from "../scheduler/tick-http-handler.ts";
import { hasTokenVariable, readTokenVariable } from "../tokens/read-token.ts";
import { createWorkerHandler } from "../worker/worker-http-handler.ts";
import {
  ensureSecret,
  forgeTokenPath,
  type LocalHome,
  prepareHome,
  tokenPath,
  writeControlPlaneUrl,
} from "./local-home.ts";
import { createReporter, type Reporter } from "./reporter.ts";
import { type ServedFunction, serveFunction } from "./serve-function.ts";
import { superviseControlPlane } from "./supervise-control-plane.ts";
import { type AttemptResult, watchAttempt } from "./watch-attempt.ts";

const DEMO_TARGET = join(projectRoot(), "ops", "demo-target");

export interface LocalOptions {
  env: NodeJS.ProcessEnv;
  once: boolean;
  json: boolean;
  out: NodeJS.WritableStream;
  /** Resolves when the user asks to stop (Ctrl-C); default: the first SIGINT or SIGTERM. */
  stop?: Promise<unknown>;
}

/**
 * `leviathan start`: the control plane as a supervised child, a local forge holding
 * the demo target (unless a config and GITHUB_TOKEN or GITHUB_TOKEN_FILE point at a real forge), the worker with the
 * process job runner and the tick on free ports, then a tick at once and on `schedule_cron`.
 * Returns the exit code: with `--once`, 0 after a successful attempt or a skip, 1 if it failed.
 */
export async function runLocal(options: LocalOptions): Promise<number> {
  const { env } = options;
  const report = createReporter(options.out, options.json);
  const logger = createLogger("local", { level: env.LOG_LEVEL ?? "warn" });
  const home = await prepareHome(leviathanHome(env));
  const configPath = env.LEVIATHAN_CONFIG || LOCAL_CONFIG_PATH;
  const loaded = await loadConfig(configPath);
  const useGitHub = Boolean(env.LEVIATHAN_CONFIG && hasTokenVariable(env, "GITHUB_TOKEN"));
  const cleanup: Array<() => Promise<void>> = [];
  let stopping = false;
  const stop = options.stop ?? stopSignal();
  void stop.then(() => {
    stopping = true;
  });

  try {
    const token = await ensureSecret(tokenPath(home));
    let config: AutonomyConfig = { ...loaded.config, workspace_dir: home.workspace };
    const effectivePath = join(home.config, loaded.name);
    const writeConfig = () => writeFileAtomically(effectivePath, stringify(config), 0o600);

    report.say("start", `leviathan local mode — everything under ${home.root}`, {
      home: home.root,
    });
    const controlPlane = await superviseControlPlane({
      eventsDir: home.events,
      token,
      port: env.PORT ? Number(env.PORT) : 8000,
      logger,
      onListening: async (url) => {
        config = { ...config, control_plane_url: url };
        await writeControlPlaneUrl(home, url);
        await writeConfig();
      },
    });
    cleanup.push(() => controlPlane.stop());
    void controlPlane.failed.then((error) => {
      report.say("error", `control plane: ${error.message}`);
      stopping = true;
    });
    report.say("service", `control plane  ${controlPlane.url}  (events in ${home.events})`, {
      service: "control-plane",
      url: controlPlane.url,
    });

    let githubToken: string;
    if (useGitHub) {
      githubToken = readTokenVariable(env, "GITHUB_TOKEN")!;
      report.say("service", `forge          ${config.github_api_url} (${config.target_repo_url})`, {
        service: "forge",
        url: config.github_api_url,
      });
    } else {
      githubToken = await ensureSecret(forgeTokenPath(home));
      const forge = await startLocalForge({ root: home.forge, token: githubToken, logger });
      cleanup.push(() => forge.close());
      const coordinates = parseRepoUrl(config.target_repo_url);
      if ("error" in coordinates) throw new Error(`target_repo_url ${coordinates.error}`);
      const created = await forge.createRepository(coordinates.owner, coordinates.repo, {
        fromDir: DEMO_TARGET,
        defaultBranch: config.target_branch,
      });
      config = {
        ...config,
        target_repo_url: forge.gitUrl(coordinates.owner, coordinates.repo),
        github_api_url: forge.apiUrl,
      };
      report.say(
        "service",
        `forge          ${forge.gitUrl(coordinates.owner, coordinates.repo)}${created.created ? " (demo target copied in)" : ""}`,
        { service: "forge", url: forge.apiUrl },
      );
    }

    const runner = createProcessJobRunner({
      home: home.root,
      secrets: { GITHUB_TOKEN: githubToken },
      logger,
    });
    cleanup.unshift(() => runner.stopAll());
    const functionEnv = localEnv(env, home, effectivePath, token, githubToken);
    const worker = await serveFunction(
      "worker",
      createWorkerHandler({ env: functionEnv, jobs: () => runner, logger }),
    );
    cleanup.unshift(() => worker.close());
    config = { ...config, worker_url: worker.url };
    await writeConfig();
    const dependencies = (d: TickDependencies) => ({
      ...d,
      jobs: runner,
    });
    // One tick for the process: the served function and the loop below share its caches.
    const composed = composeTick(parseTickEnv(functionEnv, { requireGateToken: true }), {
      createForge: forgeFromConfig,
      logger,
      dependencies,
    });
    const tick: ServedFunction = await serveFunction(
      "tick",
      createTickHandler({ tick: composed, gateToken: token, logger }),
    );
    cleanup.unshift(() => tick.close());
    report.say(
      "service",
      `worker         ${worker.url}  (attempts run as child processes; logs in ${home.jobs})`,
      {
        service: "worker",
        url: worker.url,
      },
    );
    report.say("service", `tick           ${tick.url}`, { service: "tick", url: tick.url });
    const isolation = await detectIsolation({
      setting: config.executor_isolation ?? "required",
      executorUid: executorUidOf(env),
    });
    report.say(
      "isolation",
      "unavailable" in isolation
        ? "executor       command tasks refused here: not root (built-in executors run as usual)"
        : `executor       command tasks run isolated as: ${isolation.isolation}`,
      { isolation: "unavailable" in isolation ? "unavailable" : isolation.isolation },
    );
    report.say(
      "service",
      `summary        ${controlPlane.url}/v1/graph/summary  (or: npx leviathan summary)`,
      { service: "summary", url: `${controlPlane.url}/v1/graph/summary` },
    );
    report.say(
      "service",
      `console        ${controlPlane.url}/  (sign in with the token in ${tokenPath(home)})`,
      { service: "console", url: `${controlPlane.url}/` },
    );

    const client = () => new ControlPlaneClient({ url: controlPlane.url, token, logger });
    const runOneTick = () =>
      tickOnce({
        tick: composed,
        config,
        report,
        runner,
        client,
        stopped: () => stopping,
        localForge: !useGitHub,
        once: options.once,
      });

    if (options.once) {
      const result = await runOneTick();
      return result === undefined || result.status === "succeeded" ? 0 : 1;
    }
    while (!stopping) {
      await runOneTick().catch((error: Error) =>
        report.say("error", `tick failed: ${error.message}`),
      );
      const next = nextTickAfter(config.schedule_cron, new Date());
      report.say(
        "schedule",
        `next tick at ${next.toISOString().slice(11, 19)} (${config.schedule_cron}); Ctrl-C stops`,
      );
      await Promise.race([sleepUntil(next), stop]);
    }
    return 0;
  } finally {
    report.say("stop", "stopping: attempts, worker, tick, forge, control plane");
    for (const step of cleanup) await step().catch(() => {});
  }
}

async function tickOnce(input: {
  tick: ComposedTick;
  config: AutonomyConfig;
  report: Reporter;
  runner: ProcessJobRunner;
  client: () => ControlPlaneClient;
  stopped: () => boolean;
  /** The PR is on the local forge, whose page has Merge and Close buttons. */
  localForge: boolean;
  /** `--once`: the forge stops with this run, so its pages do too. */
  once: boolean;
}): Promise<AttemptResult | undefined> {
  const outcome = await input.tick.run({ tickId: `local-${new Date().toISOString()}` });
  input.report.say("tick", `tick: ${describeDecision(outcome)}`, { decision: outcome.decision });
  if (input.localForge && outcome.decision.action === "skip") {
    if (outcome.decision.reason === "max_open_prs") {
      input.report.say("next", mergeHint(input.once, "open the PR above"));
    }
  }
  if (outcome.decision.action !== "dispatch" || !outcome.dispatched) return undefined;
  const result = await watchAttempt({
    attemptId: outcome.decision.attempt_id,
    controlPlane: input.client,
    jobs: input.runner,
    reporter: input.report,
    deadlineSeconds: input.config.attempt_timeout_seconds,
    stopped: input.stopped,
  });
  // Let the attempt's process finish its own clean-up (its workspace) before anything stops it.
  await waitForJobExit(input.runner, jobNameFor(outcome.decision.attempt_id), 15_000);
  if (result.status === "succeeded") {
    input.report.say("result", `PR: ${result.pr_url}`, {
      pr_url: result.pr_url,
      seconds: result.seconds,
    });
    if (input.localForge) {
      input.report.say("next", mergeHint(input.once, "open it"), { pr_url: result.pr_url });
    }
  } else {
    input.report.say(
      "result",
      `attempt failed: ${result.reason}${result.summary ? ` — ${result.summary}` : ""}`,
      {
        reason: result.reason,
      },
    );
  }
  return result;
}

/** How to merge a PR of the local forge: its page's Merge button, while the forge runs. */
function mergeHint(once: boolean, what: string): string {
  return once
    ? "the forge stops with --once: run `npm start` (no --once), open the PR its tick lists and press Merge (or Close); the next tick moves on"
    : `${what} and press Merge (or Close): the next tick sees it and moves on`;
}

async function waitForJobExit(
  runner: ProcessJobRunner,
  name: string,
  limitMs: number,
): Promise<void> {
  const until = Date.now() + limitMs;
  while (Date.now() < until) {
    const job = await runner.status(name).catch(() => undefined);
    if (job?.phase !== "running") return;
    await delay(100);
  }
}

/** The environment the local tick and worker see: this home's files, never the caller's URLs. */
function localEnv(
  env: NodeJS.ProcessEnv,
  home: LocalHome,
  configPath: string,
  token: string,
  githubToken: string,
): NodeJS.ProcessEnv {
  const local: NodeJS.ProcessEnv = { ...env };
  delete local.CONTROL_PLANE_URL;
  delete local.K_SINK;
  return {
    ...local,
    LEVIATHAN_HOME: home.root,
    LEVIATHAN_CONFIG: resolve(configPath),
    LEVIATHAN_JOB_RUNNER: "process",
    CONTROL_PLANE_TOKEN: token,
    GITHUB_TOKEN: githubToken,
  };
}

/** The schedule's next time after `now` (asked after each tick, so never one already past). */
export function nextTickAfter(cron: string, now: Date): Date {
  return CronExpressionParser.parse(cron, { currentDate: now }).next().toDate();
}

function executorUidOf(env: NodeJS.ProcessEnv): number {
  const parsed = parseExecutorUid(env.LEVIATHAN_EXECUTOR_UID);
  return typeof parsed === "number" ? parsed : DEFAULT_EXECUTOR_UID;
}

function sleepUntil(when: Date): Promise<void> {
  return new Promise((resolve) =>
    setTimeout(resolve, Math.max(0, when.getTime() - Date.now())).unref?.(),
  );
}
