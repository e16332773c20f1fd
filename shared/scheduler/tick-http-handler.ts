import { randomUUID } from "node:crypto";
import type { HttpFunction } from "@google-cloud/functions-framework";
import { errorMessage } from "../errors/error-message.ts";
import { type ErrorTable, lookUpError } from "../errors/error-table.ts";
import { createLogger, type Logger, redact } from "../log/logger.ts";
import { tokenDigest } from "../net/check-bearer-token.ts";
import { answeredBeforePostRoot, refusedWithoutToken } from "../net/http-function.ts";
import {
  type ComposedTick,
  TargetNotFoundError,
  type TickInput,
  TickUnavailableError,
} from "./compose-tick.ts";
import { isCloudEvent, readManualTarget, readPing } from "./read-tick-request.ts";

export { PING_TYPE } from "./read-tick-request.ts";

export interface TickHandlerOptions {
  /** The tick, composed once for the process (`composeTick`). */
  tick: ComposedTick;
  /** The bearer token a manual `POST /` must carry (`parseTickEnv`'s `gateToken`). */
  gateToken: string;
  logger?: Logger;
}

/**
 * The one table from a tick failure to its HTTP status (the body is `{"error": …}`, tokens
 * redacted). A request that cannot be read — not JSON, not a ping, too large — is 400 before
 * the tick starts; a failure of the tick not listed here is a bug: 500, logged as an error.
 */
const TICK_ERROR_STATUS: ErrorTable<number> = [
  [TargetNotFoundError, 404],
  [TickUnavailableError, 503],
];

/**
 * The tick's HTTP function, only the edge: a PingSource CloudEvent needs no token; a manual
 * `POST /` needs the bearer token and `{"target": …}` or `{}`. Either is decoded here into plain
 * data for the tick. 200 with the decision, 400 bad request or other CloudEvent type, 401, 404
 * no config for the target, 503 when the control plane, the config or a token file cannot be
 * read.
 */
export function createTickHandler(options: TickHandlerOptions): HttpFunction {
  const expected = tokenDigest(options.gateToken);
  const logger = options.logger ?? createLogger("tick");

  return async (req, res) => {
    if (answeredBeforePostRoot(req, res)) return;
    let input: TickInput;
    try {
      if (isCloudEvent(req)) {
        input = await readPing(req);
      } else {
        if (refusedWithoutToken(req, res, expected)) return;
        const target = await readManualTarget(req);
        input = { ...(target !== undefined ? { target } : {}), tickId: `manual-${randomUUID()}` };
      }
    } catch (error) {
      res.status(400).json({ error: errorMessage(error) });
      return;
    }
    try {
      const outcome = await options.tick.run(input);
      res.status(200).json(outcome.decision);
    } catch (error) {
      const message = redact(errorMessage(error), [options.gateToken, ...options.tick.secrets()]);
      const status = lookUpError(TICK_ERROR_STATUS, error) ?? 500;
      logger[status === 500 ? "error" : "warn"]({ status, err: message }, "tick failed");
      res.status(status).json({ error: message });
    }
  };
}
