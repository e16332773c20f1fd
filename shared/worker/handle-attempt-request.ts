import { dirname, join } from "node:path";
import { ConfigError, type LoadedConfig, loadConfig } from "../config/load-config.ts";
import {
  ControlPlaneConfigError,
  ControlPlaneRejectedError,
  ControlPlaneUnavailableError,
} from "../control-plane/client/control-plane-errors.ts";
import type { AttemptView } from "../control-plane/types.ts";
import type { AttemptRequest } from "../events/types.ts";
import { GitHubAppSetupError } from "../forge/github/app/github-app-from-env.ts";
import { GitHubAppTokenError } from "../forge/github/app/github-app-tokens.ts";
import { buildAttemptJob } from "../jobs/build-attempt-job.ts";
import type { JobRunner } from "../jobs/types.ts";
import type { Logger } from "../log/logger.ts";
import { deriveAttemptToken } from "../tokens/attempt-token.ts";
import type { AttemptLookup } from "./attempt-lookup.ts";
import { checkAttemptRecorded } from "./check-attempt-recorded.ts";
import { parseAttemptRequest } from "./parse-attempt-request.ts";
import {
  AttemptCheckUnavailableError,
  AttemptConfigInvalidError,
  AttemptConfigNotFoundError,
  BadAttemptRequestError,
  GitHubTokenUnavailableError,
} from "./worker-errors.ts";

export interface AttemptRequestDeps {
  /** `LEVIATHAN_CONFIG`: the request's `config` is read from the same folder. */
  configPath: string;
  /** The worker's own control-plane token: each Job gets only a token derived from it for its attempt. */
  controlPlaneToken: string;
  /** The runner for a namespace (the config's `worker_namespace`). */
  jobs: (namespace: string) => JobRunner;
  /** The control plane's record of the attempt, asked before any Job is made. */
  lookupAttempt: AttemptLookup;
  /**
   * This attempt's own GitHub token when the config names a GitHub App (undefined without one:
   * the Job then reads the shared `GITHUB_TOKEN` Secret). Asked only for a recorded attempt.
   */
  attemptGitHubToken?: (config: LoadedConfig["config"]) => Promise<string | undefined>;
  logger?: Logger;
}

/** The worker's reply: `created` is false when the Job already existed. */
export interface AttemptJobSubmitted {
  job_name: string;
  created: boolean;
}

async function loadRequestedConfig(configPath: string, name: string): Promise<LoadedConfig> {
  const path = join(dirname(configPath), name);
  try {
    return await loadConfig(path);
  } catch (error) {
    if (error instanceof ConfigError && error.notFound) {
      throw new AttemptConfigNotFoundError(`no config file ${name} beside ${configPath}`);
    }
    if (error instanceof ConfigError) throw new AttemptConfigInvalidError(error.message);
    throw error;
  }
}

/**
 * One `attempt.requested`: check the data, read the config it names, make sure the control
 * plane recorded that attempt and it has not finished, build the Job and submit it. Safe to
 * repeat while the attempt runs: the Job's name follows from the attempt id, and the runner
 * answers a repeat with `created: false`.
 */
export async function handleAttemptRequest(
  data: unknown,
  deps: AttemptRequestDeps,
): Promise<AttemptJobSubmitted> {
  const request = parseAttemptRequest(data);
  const { config, name } = await loadRequestedConfig(deps.configPath, request.config);
  if (config.target_id !== request.target_id) {
    throw new BadAttemptRequestError(
      `config ${name} is for target ${config.target_id}, not ${request.target_id}`,
      [{ path: "data.target_id", message: `does not match ${name}'s target_id` }],
    );
  }
  checkAttemptRecorded(request, await recordedAttempt(deps.lookupAttempt, config, request));
  const attemptToken = deriveAttemptToken(deps.controlPlaneToken, {
    targetId: request.target_id,
    attemptId: request.attempt_id,
  });
  const githubToken = await mintGitHubToken(deps, config, request);
  const job = buildAttemptJob(config, request, {
    configName: name,
    attemptToken,
    ...(githubToken ? { githubToken } : {}),
  });
  const { created } = await deps.jobs(job.namespace).submit(job);
  deps.logger?.info(
    { job: job.name, created, attempt_id: request.attempt_id, target: request.target_id },
    created ? "attempt Job created" : "attempt Job already existed",
  );
  return { job_name: job.name, created };
}

/** The App's token for this attempt; a failure to get one is a 503 (the sender may retry). */
async function mintGitHubToken(
  deps: AttemptRequestDeps,
  config: LoadedConfig["config"],
  request: AttemptRequest,
): Promise<string | undefined> {
  if (!deps.attemptGitHubToken) return undefined;
  try {
    return await deps.attemptGitHubToken(config);
  } catch (error) {
    if (error instanceof GitHubAppTokenError || error instanceof GitHubAppSetupError) {
      throw new GitHubTokenUnavailableError(
        `no GitHub token for attempt ${request.attempt_id}, no Job made: ${error.message}`,
      );
    }
    throw error;
  }
}

/** The lookup, with every way of not getting an answer made one 503. */
async function recordedAttempt(
  lookup: AttemptLookup,
  config: LoadedConfig["config"],
  request: AttemptRequest,
): Promise<AttemptView | undefined> {
  try {
    return await lookup(config, request.attempt_id);
  } catch (error) {
    // A 4xx other than 404 (the worker's token refused) is a set-up fault, not an answer.
    if (
      error instanceof ControlPlaneUnavailableError ||
      error instanceof ControlPlaneRejectedError ||
      error instanceof ControlPlaneConfigError
    ) {
      throw new AttemptCheckUnavailableError(
        `cannot ask the control plane about attempt ${request.attempt_id}, no Job made: ${error.message}`,
      );
    }
    throw error;
  }
}
