import { configPathFrom, loadConfig } from "../../config/load-config.ts";
import type { AutonomyConfig } from "../../config/schema.ts";
import { errorMessage } from "../../errors/error-message.ts";
import type { Logger } from "../../log/logger.ts";
import { ControlPlaneClient } from "./control-plane-client.ts";
import { ControlPlaneConfigError } from "./control-plane-errors.ts";
import { resolveControlPlane } from "./resolve-control-plane.ts";

export interface ClientFromEnv {
  client: ControlPlaneClient;
  /** The autonomy config, when one could be read (commands use it for context, not to connect). */
  config: AutonomyConfig | undefined;
}

/**
 * For commands: the control plane found as `resolveControlPlane` finds it, the config (`LEVIATHAN_CONFIG` or the
 * default) consulted for its `control_plane_url` only when it is readable.
 */
export async function clientFromEnv(
  env: NodeJS.ProcessEnv,
  options: { logger?: Logger; timeoutMs?: number } = {},
): Promise<ClientFromEnv> {
  const configPath = configPathFrom(env);
  let config: AutonomyConfig | undefined;
  let configProblem: string | undefined;
  try {
    config = (await loadConfig(configPath)).config;
  } catch (error) {
    configProblem = errorMessage(error).split("\n").slice(0, 2).join(" ");
  }
  try {
    const location = await resolveControlPlane(env, config?.control_plane_url);
    const client = new ControlPlaneClient({
      url: location.url,
      token: location.token,
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    });
    return { client, config };
  } catch (error) {
    if (error instanceof ControlPlaneConfigError && configProblem) {
      throw new ControlPlaneConfigError(`${error.message}\n(config ${configProblem})`);
    }
    throw error;
  }
}
