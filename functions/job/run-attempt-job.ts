import type { AttemptDependencies } from "../../shared/attempt/attempt-context.ts";
import {
  type AttemptEnv,
  AttemptEnvError,
  parseAttemptEnv,
} from "../../shared/attempt/attempt-env.ts";
import { runAttempt } from "../../shared/attempt/run-attempt.ts";
import {
  runDeliverPhase,
  runExecutePhase,
  runPreparePhase,
} from "../../shared/attempt/run-attempt-phases.ts";
import { ControlPlaneClient } from "../../shared/control-plane/client/control-plane-client.ts";
import type { Forge } from "../../shared/forge/types.ts";
import type { AttemptPhase } from "../../shared/jobs/attempt-phases.ts";
import { createLogger, type Logger } from "../../shared/log/logger.ts";

/** The forge an attempt opens its PR on: `GITHUB_API_URL`, the repository of `TARGET_REPO_URL`, `GITHUB_TOKEN`. */
export type AttemptForgeFactory = (env: AttemptEnv, logger: Logger) => Forge;

export interface AttemptJobOptions {
  stderr: NodeJS.WritableStream;
  createForge: AttemptForgeFactory;
  logger?: Logger;
  /** One container's part of the attempt; all of it in one process when absent. */
  phase?: AttemptPhase;
  /** The trusted folder `prepare` and `deliver` share (a Job's `trusted` volume). */
  trustedDir?: string;
}

/**
 * `leviathan attempt`, the Job's entry: the environment checked (every missing variable named
 * in one error), the control-plane client and the forge built, the attempt — or one phase of
 * it — run. Exit code 0 only when the PR is open and recorded (or the phase did its part).
 */
export async function runAttemptJob(
  processEnv: NodeJS.ProcessEnv,
  options: AttemptJobOptions,
): Promise<number> {
  const logger = options.logger ?? createLogger("attempt");
  // The executor's container has no token and needs none: it never reads the full environment.
  if (options.phase === "execute") return runExecutePhase(processEnv, logger);
  let env: AttemptEnv;
  try {
    env = parseAttemptEnv(processEnv);
  } catch (error) {
    if (!(error instanceof AttemptEnvError)) throw error;
    options.stderr.write(`leviathan attempt: ${error.message}\n`);
    return 1;
  }
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
  const deps: AttemptDependencies = {
    controlPlane,
    forge: options.createForge(env, logger),
    logger,
  };
  if (options.phase === "prepare" || options.phase === "deliver") {
    if (!options.trustedDir) {
      options.stderr.write(`leviathan attempt ${options.phase}: --trusted-dir is required\n`);
      return 2;
    }
    const run = options.phase === "prepare" ? runPreparePhase : runDeliverPhase;
    const result = await run(env, deps, options.trustedDir);
    return result === null || result.ok ? 0 : 1;
  }
  const result = await runAttempt(env, deps);
  return result.ok ? 0 : 1;
}
