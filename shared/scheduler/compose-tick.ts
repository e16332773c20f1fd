import { type BacklogCache, createBacklogCache } from "../backlog/backlog-cache.ts";
import {
  type ConfigCache,
  ConfigError,
  configPathForTarget,
  createConfigCache,
  type LoadedConfig,
} from "../config/load-config.ts";
import type { AutonomyConfig } from "../config/schema.ts";
import { ControlPlaneClient } from "../control-plane/client/control-plane-client.ts";
import {
  ControlPlaneConfigError,
  ControlPlaneRejectedError,
  ControlPlaneUnavailableError,
} from "../control-plane/client/control-plane-errors.ts";
import { resolveControlPlane } from "../control-plane/client/resolve-control-plane.ts";
import { errorMessage } from "../errors/error-message.ts";
import { GitHubAppSetupError, githubAppFromEnv } from "../forge/github/app/github-app-from-env.ts";
import { TICK_PERMISSIONS } from "../forge/github/app/github-app-tokens.ts";
import { createResponseCache, type ResponseCache } from "../forge/github/conditional-fetch.ts";
import type { Forge, GitHubCredential } from "../forge/types.ts";
import { jobRunnerFromEnv } from "../jobs/job-runner-from-env.ts";
import type { Logger } from "../log/logger.ts";
import { readTokenVariable, TokenFileError } from "../tokens/read-token.ts";
import { DispatchError, dispatchAttempt } from "./dispatch-attempt.ts";
import { runTick, type TickDependencies, type TickOutcome } from "./run-tick.ts";
import type { TickEnv } from "./tick-env.ts";

/** The target's forge; with `responseCache`, its reads are conditional requests. */
export type ForgeFactory = (
  config: AutonomyConfig,
  credential: GitHubCredential,
  logger: Logger,
  responseCache?: ResponseCache,
) => Forge;

/** No config file for the named target: the tick answers 404. */
export class TargetNotFoundError extends Error {
  override readonly name = "TargetNotFoundError";
}

/** Config unreadable, control plane unreachable, worker down …: 503, so PingSource retries. */
export class TickUnavailableError extends Error {
  override readonly name = "TickUnavailableError";
}

/** A collaborator cannot be set up from the environment (no token, no worker to send to). */
export class TickSetupError extends Error {
  override readonly name = "TickSetupError";
}

/** What one tick is asked, as plain data: the edge (HTTP, CLI) has decoded it already. */
export interface TickInput {
  /** From the ping's data or the manual request; undefined uses `LEVIATHAN_CONFIG` itself. */
  target?: string;
  /** The ping's CloudEvent id, or a fresh one for a manual tick. */
  tickId: string;
  /** `--dry-run`; the config's `dry_run: true` turns it on as well. */
  dryRun?: boolean;
}

export interface ComposeTickOptions {
  logger: Logger;
  createForge: ForgeFactory;
  /** Tests and local mode may bring their own collaborators. */
  dependencies?: (deps: TickDependencies) => TickDependencies;
}

/**
 * What the tick keeps between ticks: forge replies for conditional requests, backlog parses,
 * and config parses (each file is read every tick; only an unchanged text is not parsed again).
 */
export interface TickCaches {
  responses: ResponseCache;
  backlogs: BacklogCache;
  configs: ConfigCache;
}

export interface ComposedTick {
  run(input: TickInput): Promise<TickOutcome>;
  /** Values no reply or log line may carry: the tokens as they are now. */
  secrets(): string[];
  /** What it keeps between ticks (for its numbers: hits, parses). */
  readonly caches: TickCaches;
}

/**
 * The tick wired from its environment, once per process: for each tick the target's config
 * (`<target>.yaml` beside `LEVIATHAN_CONFIG`), the control plane as `resolveControlPlane` finds
 * it, the forge with the config's GitHub App (read-only installation tokens) or `GITHUB_TOKEN`
 * (or its file), the job runner of `LEVIATHAN_JOB_RUNNER`,
 * and dispatch to `K_SINK`, else the config's `worker_url`. Errors come out as the two kinds
 * the edges map: `TargetNotFoundError` and `TickUnavailableError`.
 */
export function composeTick(env: TickEnv, options: ComposeTickOptions): ComposedTick {
  // Both live as long as the process: every tick of every target shares them.
  const caches: TickCaches = {
    responses: createResponseCache(),
    backlogs: createBacklogCache(),
    configs: createConfigCache(),
  };
  return {
    run: (input) => runOneTick(env, options, caches, input),
    caches,
    secrets: () => [env.gateToken, safeToken(env.source, "GITHUB_TOKEN")].filter(isText),
  };
}

async function runOneTick(
  env: TickEnv,
  options: ComposeTickOptions,
  caches: TickCaches,
  input: TickInput,
): Promise<TickOutcome> {
  const configPath = configPathForTarget(env.configPath, input.target);
  let loaded: LoadedConfig;
  try {
    loaded = await caches.configs.load(configPath);
  } catch (error) {
    if (error instanceof ConfigError && error.notFound) {
      throw new TargetNotFoundError(
        `no config for ${input.target ?? "the target"}: ${configPath} not found`,
      );
    }
    throw new TickUnavailableError(errorMessage(error));
  }
  const { config, name } = loaded;
  if (input.target !== undefined && config.target_id !== input.target) {
    throw new TickUnavailableError(
      `${configPath} is for target ${config.target_id}, not ${input.target}`,
    );
  }
  try {
    const base = await tickDependencies(env, config, options, caches);
    const deps = options.dependencies ? options.dependencies(base) : base;
    return await runTick(
      {
        config,
        configName: name,
        tickId: input.tickId,
        dryRun: input.dryRun === true || config.dry_run,
      },
      deps,
    );
  } catch (error) {
    if (error instanceof ControlPlaneUnavailableError) {
      throw new TickUnavailableError(
        `control plane unavailable, nothing scheduled: ${error.message}`,
      );
    }
    if (
      error instanceof ControlPlaneConfigError ||
      error instanceof ControlPlaneRejectedError ||
      error instanceof TickSetupError ||
      error instanceof DispatchError
    ) {
      throw new TickUnavailableError(error.message);
    }
    throw error;
  }
}

async function tickDependencies(
  env: TickEnv,
  config: AutonomyConfig,
  options: ComposeTickOptions,
  caches: TickCaches,
): Promise<TickDependencies> {
  const { logger } = options;
  const location = await resolveControlPlane(env.source, config.control_plane_url);
  const controlPlane = new ControlPlaneClient({ url: location.url, token: location.token, logger });
  const sink = env.sink || config.worker_url;
  let jobs: TickDependencies["jobs"];
  try {
    jobs = jobRunnerFromEnv(env.source, { logger })(config.worker_namespace);
  } catch (error) {
    logger.warn({ err: errorMessage(error) }, "no job runner: reconciling by deadline only");
  }
  return {
    controlPlane,
    forge: () =>
      options.createForge(
        config,
        forgeCredential(env.source, config, logger),
        logger,
        caches.responses,
      ),
    backlogCache: caches.backlogs,
    ...(jobs ? { jobs } : {}),
    dispatch: async (request) => {
      if (!sink) {
        throw new TickSetupError(
          "no worker to dispatch to: set worker_url in the config, or K_SINK",
        );
      }
      return dispatchAttempt(request, { sink, token: location.token, logger });
    },
    logger,
  };
}

/**
 * Read when the forge is first needed, so a tick that never asks it needs no token. With the
 * config's GitHub App, the tokens are limited to reading the target repository and reused until
 * near expiry; else `GITHUB_TOKEN` (or its file).
 */
function forgeCredential(
  env: NodeJS.ProcessEnv,
  config: AutonomyConfig,
  logger: Logger,
): GitHubCredential {
  try {
    const app = githubAppFromEnv(env, config, { logger });
    if (app) return app.cached(TICK_PERMISSIONS);
  } catch (error) {
    if (error instanceof GitHubAppSetupError) throw new TickSetupError(error.message);
    throw error;
  }
  let token: string | undefined;
  try {
    token = readTokenVariable(env, "GITHUB_TOKEN");
  } catch (error) {
    if (error instanceof TokenFileError) throw new TickSetupError(error.message);
    throw error;
  }
  if (!token) {
    throw new TickSetupError(
      "GITHUB_TOKEN is not set (nor GITHUB_TOKEN_FILE): the tick cannot ask the forge",
    );
  }
  return token;
}

function safeToken(env: NodeJS.ProcessEnv, name: string): string | undefined {
  try {
    return readTokenVariable(env, name);
  } catch {
    return undefined;
  }
}

function isText(value: string | undefined): value is string {
  return typeof value === "string" && value !== "";
}
