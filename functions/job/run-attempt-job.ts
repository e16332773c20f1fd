import {
  type AttemptEnv,
  AttemptEnvError,
  parseAttemptEnv,
} from "../../shared/attempt/attempt-env.ts";
import { runAttempt } from "../../shared/attempt/run-attempt.ts";
import { ControlPlaneClient } from "../../shared/control-plane/client/control-plane-client.ts";
import type { Forge } from "../../shared/forge/types.ts";
import { createLogger, type Logger } from "../../shared/log/logger.ts";

/** The forge an attempt opens its PR on: `GITHUB_API_URL`, the repository of `TARGET_REPO_URL`, `GITHUB_TOKEN`. */
export type AttemptForgeFactory = (env: AttemptEnv, logger: Logger) => Forge;

export interface AttemptJobOptions {
  stderr: NodeJS.WritableStream;
  createForge: AttemptForgeFactory;
  logger?: Logger;
}

/**
 * `leviathan attempt`, the Job's entry (DESIGN §5): the environment checked (every missing
 * variable named in one error), the control-plane client and the forge built, the attempt run.
 * Exit code 0 only when the PR is open and recorded.
 */
export async function runAttemptJob(
  processEnv: NodeJS.ProcessEnv,
  options: AttemptJobOptions,
): Promise<number> {
  let env: AttemptEnv;
  try {
    env = parseAttemptEnv(processEnv);
  } catch (error) {
    if (!(error instanceof AttemptEnvError)) throw error;
    options.stderr.write(`leviathan attempt: ${error.message}\n`);
    return 1;
  }
  const logger = options.logger ?? createLogger("attempt");
  // A control-plane restart (a Recreate rollout, a crash) takes seconds: the attempt keeps its
  // events through one by retrying for about 20 s on average before it gives up.
  const controlPlane = new ControlPlaneClient({
    url: env.controlPlaneUrl,
    token: env.controlPlaneToken,
    logger,
    attempts: 9,
    baseDelayMs: 250,
    maxDelayMs: 8_000,
  });
  const result = await runAttempt(env, {
    controlPlane,
    forge: options.createForge(env, logger),
    logger,
  });
  return result.ok ? 0 : 1;
}
