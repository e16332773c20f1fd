import type { AutonomyConfig } from "../config/schema.ts";
import { ControlPlaneClient } from "../control-plane/client/control-plane-client.ts";
import { resolveControlPlane } from "../control-plane/client/resolve-control-plane.ts";
import { errorMessage } from "../errors/error-message.ts";
import { GitHubAppSetupError, githubAppFromEnv } from "../forge/github/app/github-app-from-env.ts";
import { TICK_PERMISSIONS } from "../forge/github/app/github-app-tokens.ts";
import type { Forge, GitHubCredential } from "../forge/types.ts";
import { jobRunnerFromEnv } from "../jobs/job-runner-from-env.ts";
import type { Logger } from "../log/logger.ts";
import { readTokenVariable, TokenFileError } from "../tokens/read-token.ts";
import { dispatchAttempt } from "./dispatch-attempt.ts";
import type { TickDependencies } from "./run-tick.ts";

export type ForgeFactory = (
  config: AutonomyConfig,
  credential: GitHubCredential,
  logger: Logger,
) => Forge;

export class TickSetupError extends Error {
  override readonly name = "TickSetupError";
}

/**
 * The tick's collaborators from the environment: the control plane as `resolveControlPlane`
 * finds it, the forge with the config's GitHub App (read-only installation tokens for the
 * target) or else `GITHUB_TOKEN` (or `GITHUB_TOKEN_FILE`), the job runner of `LEVIATHAN_JOB_RUNNER` (for reconciliation), and
 * dispatch to `K_SINK`, else the config's `worker_url`, with the control-plane token.
 */
export async function tickDependenciesFromEnv(
  env: NodeJS.ProcessEnv,
  config: AutonomyConfig,
  options: { logger: Logger; createForge: ForgeFactory },
): Promise<TickDependencies> {
  const location = await resolveControlPlane(env, config.control_plane_url);
  const controlPlane = new ControlPlaneClient({
    url: location.url,
    token: location.token,
    logger: options.logger,
  });
  const sink = env.K_SINK?.trim() || config.worker_url;
  let jobs: TickDependencies["jobs"];
  try {
    jobs = jobRunnerFromEnv(env, { logger: options.logger })(config.worker_namespace);
  } catch (error) {
    options.logger.warn(
      { err: errorMessage(error) },
      "no job runner: reconciling by deadline only",
    );
  }
  return {
    controlPlane,
    forge: () =>
      options.createForge(config, forgeCredential(env, config, options.logger), options.logger),
    ...(jobs ? { jobs } : {}),
    dispatch: async (request) => {
      if (!sink) {
        throw new TickSetupError(
          "no worker to dispatch to: set worker_url in the config, or K_SINK",
        );
      }
      return dispatchAttempt(request, { sink, token: location.token, logger: options.logger });
    },
    logger: options.logger,
  };
}

/**
 * Read when the forge is first needed, so a tick that never asks it needs no token. With an
 * App, the tokens are limited to reading the target repository and reused until near expiry.
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
