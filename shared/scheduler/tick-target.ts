import {
  ConfigError,
  configPathForTarget,
  configPathFrom,
  loadConfig,
} from "../config/load-config.ts";
import {
  ControlPlaneConfigError,
  ControlPlaneRejectedError,
  ControlPlaneUnavailableError,
} from "../control-plane/client/control-plane-errors.ts";
import { errorMessage } from "../errors/error-message.ts";
import type { Logger } from "../log/logger.ts";
import { DispatchError } from "./dispatch-attempt.ts";
import { runTick, type TickDependencies, type TickOutcome } from "./run-tick.ts";
import { type ForgeFactory, TickSetupError, tickDependenciesFromEnv } from "./tick-dependencies.ts";

/** No config file for the named target: the tick answers 404. */
export class TargetNotFoundError extends Error {
  override readonly name = "TargetNotFoundError";
}

/** Config unreadable, control plane unreachable, worker down …: 503, so PingSource retries. */
export class TickUnavailableError extends Error {
  override readonly name = "TickUnavailableError";
}

export interface TickTargetOptions {
  env: NodeJS.ProcessEnv;
  /** From the ping's data or the manual request; undefined uses `LEVIATHAN_CONFIG` itself. */
  target?: string;
  tickId: string;
  /** `--dry-run`; the config's `dry_run: true` turns it on as well. */
  dryRun?: boolean;
  logger: Logger;
  createForge: ForgeFactory;
  /** Tests and local mode may bring their own collaborators. */
  dependencies?: (deps: TickDependencies) => TickDependencies;
}

/** One tick for one target, from the environment: the shared body of `leviathan tick` and the tick function. */
export async function tickTarget(options: TickTargetOptions): Promise<TickOutcome> {
  const configPath = configPathForTarget(configPathFrom(options.env), options.target);
  let loaded: Awaited<ReturnType<typeof loadConfig>>;
  try {
    loaded = await loadConfig(configPath);
  } catch (error) {
    if (error instanceof ConfigError && error.notFound) {
      throw new TargetNotFoundError(
        `no config for ${options.target ?? "the target"}: ${configPath} not found`,
      );
    }
    throw new TickUnavailableError(errorMessage(error));
  }
  const { config, name } = loaded;
  if (options.target !== undefined && config.target_id !== options.target) {
    throw new TickUnavailableError(
      `${configPath} is for target ${config.target_id}, not ${options.target}`,
    );
  }
  try {
    const base = await tickDependenciesFromEnv(options.env, config, {
      logger: options.logger,
      createForge: options.createForge,
    });
    const deps = options.dependencies ? options.dependencies(base) : base;
    return await runTick(
      {
        config,
        configName: name,
        tickId: options.tickId,
        dryRun: options.dryRun === true || config.dry_run,
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
