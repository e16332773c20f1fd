import { dirname, join } from "node:path";
import { ConfigError, type LoadedConfig, loadConfig } from "../config/load-config.ts";
import { buildAttemptJob } from "../jobs/build-attempt-job.ts";
import type { JobRunner } from "../jobs/types.ts";
import type { Logger } from "../log/logger.ts";
import { deriveAttemptToken } from "../tokens/attempt-token.ts";
import { parseAttemptRequest } from "./parse-attempt-request.ts";
import {
  AttemptConfigInvalidError,
  AttemptConfigNotFoundError,
  BadAttemptRequestError,
} from "./worker-errors.ts";

export interface AttemptRequestDeps {
  /** `LEVIATHAN_CONFIG`: the request's `config` is read from the same folder. */
  configPath: string;
  /** The worker's own control-plane token: each Job gets only a token derived from it for its attempt. */
  controlPlaneToken: string;
  /** The runner for a namespace (the config's `worker_namespace`). */
  jobs: (namespace: string) => JobRunner;
  logger?: Logger;
}

/** The worker's reply (DESIGN §4): `created` is false when the Job already existed. */
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
 * One `attempt.requested`: check the data, read the config it names, build the Job and submit
 * it. Safe to repeat: the Job's name follows from the attempt id, and the runner answers a
 * repeat with `created: false`.
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
  const attemptToken = deriveAttemptToken(deps.controlPlaneToken, {
    targetId: request.target_id,
    attemptId: request.attempt_id,
  });
  const job = buildAttemptJob(config, request, { configName: name, attemptToken });
  const { created } = await deps.jobs(job.namespace).submit(job);
  deps.logger?.info(
    { job: job.name, created, attempt_id: request.attempt_id, target: request.target_id },
    created ? "attempt Job created" : "attempt Job already existed",
  );
  return { job_name: job.name, created };
}
