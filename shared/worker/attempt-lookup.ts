import type { AutonomyConfig } from "../config/schema.ts";
import { ControlPlaneClient } from "../control-plane/client/control-plane-client.ts";
import { resolveControlPlane } from "../control-plane/client/resolve-control-plane.ts";
import type { AttemptView } from "../control-plane/types.ts";
import type { Logger } from "../log/logger.ts";

/** The control plane's record of an attempt, undefined when it has none. */
export type AttemptLookup = (
  config: AutonomyConfig,
  attemptId: string,
) => Promise<AttemptView | undefined>;

/**
 * Bounds of the worker's question: the sender (the tick, or Knative's delivery) waits for the
 * reply, so three tries of at most 1.5 s each and short backoff keep it within about 5 s.
 */
const LOOKUP_TIMEOUT_MS = 1_500;
const LOOKUP_TRIES = 3;
const LOOKUP_BASE_DELAY_MS = 100;
const LOOKUP_MAX_DELAY_MS = 400;

/**
 * Asks the control plane with the worker's own token. The URL is found per request, as every
 * client finds it: `CONTROL_PLANE_URL`, `<LEVIATHAN_HOME>/control-plane.url` (local mode
 * rewrites it when its control plane restarts), then the requested config's `control_plane_url`.
 */
export function attemptLookupFromEnv(
  env: NodeJS.ProcessEnv,
  token: string,
  logger?: Logger,
): AttemptLookup {
  return async (config, attemptId) => {
    const location = await resolveControlPlane(env, config.control_plane_url);
    const client = new ControlPlaneClient({
      url: location.url,
      token,
      timeoutMs: LOOKUP_TIMEOUT_MS,
      attempts: LOOKUP_TRIES,
      baseDelayMs: LOOKUP_BASE_DELAY_MS,
      maxDelayMs: LOOKUP_MAX_DELAY_MS,
      ...(logger ? { logger } : {}),
    });
    return client.getAttempt(attemptId);
  };
}
