import { randomUUID } from "node:crypto";
import type { HttpFunction, Request } from "@google-cloud/functions-framework";
import { HTTP } from "cloudevents";
import { tokenDigest } from "../control-plane/server/check-bearer-token.ts";
import { TARGET_NAME_PATTERN } from "../events/schema.ts";
import { createLogger, type Logger, redact } from "../log/logger.ts";
import { answeredBeforePostRoot, refusedWithoutToken } from "../net/http-function.ts";
import { readTokenVariable, requireTokenVariable } from "../tokens/read-token.ts";
import type { ForgeFactory } from "./tick-dependencies.ts";
import {
  TargetNotFoundError,
  type TickTargetOptions,
  TickUnavailableError,
  tickTarget,
} from "./tick-target.ts";

export const PING_TYPE = "dev.knative.sources.ping";

export interface TickHandlerOptions {
  env: NodeJS.ProcessEnv;
  createForge: ForgeFactory;
  logger?: Logger;
  dependencies?: TickTargetOptions["dependencies"];
}

class BadTickRequest extends Error {}

/**
 * The tick's HTTP function: a PingSource CloudEvent needs no token; a manual `POST /` needs the
 * bearer token (`CONTROL_PLANE_TOKEN` or `CONTROL_PLANE_TOKEN_FILE`) and `{"target": …}` or
 * `{}`. 200 with the decision, 400 bad request or other CloudEvent type, 401, 404 no config for
 * the target, 503 when the control plane, the config or a token file cannot be read.
 */
export function createTickHandler(options: TickHandlerOptions): HttpFunction {
  const token = requireTokenVariable(options.env, "CONTROL_PLANE_TOKEN", "the tick");
  const expected = tokenDigest(token);
  const logger = options.logger ?? createLogger("tick");
  const secrets = [token, readTokenVariable(options.env, "GITHUB_TOKEN")];

  return async (req, res) => {
    if (answeredBeforePostRoot(req, res)) return;
    let request: { target: string | undefined; tickId: string };
    try {
      if (isCloudEvent(req)) {
        request = readPing(req);
      } else {
        if (refusedWithoutToken(req, res, expected)) return;
        request = { target: readManualTarget(req), tickId: `manual-${randomUUID()}` };
      }
    } catch (error) {
      res.status(400).json({ error: (error as Error).message });
      return;
    }
    try {
      const outcome = await tickTarget({
        env: options.env,
        ...(request.target !== undefined ? { target: request.target } : {}),
        tickId: request.tickId,
        logger,
        createForge: options.createForge,
        ...(options.dependencies ? { dependencies: options.dependencies } : {}),
      });
      res.status(200).json(outcome.decision);
    } catch (error) {
      const message = redact((error as Error).message, secrets);
      const status =
        error instanceof TargetNotFoundError
          ? 404
          : error instanceof TickUnavailableError
            ? 503
            : 500;
      logger[status === 500 ? "error" : "warn"]({ status, err: message }, "tick failed");
      res.status(status).json({ error: message });
    }
  };
}

function isCloudEvent(req: Request): boolean {
  const type = String(req.headers["content-type"] ?? "");
  return req.headers["ce-type"] !== undefined || type.startsWith("application/cloudevents");
}

/** A PingSource event: its id is the tick's id (a redelivery maps onto the same decision). */
function readPing(req: Request): { target: string | undefined; tickId: string } {
  const body = req.rawBody ? req.rawBody.toString("utf8") : "";
  let event: ReturnType<typeof HTTP.toEvent>;
  try {
    event = HTTP.toEvent({ headers: req.headers, body });
  } catch (error) {
    throw new BadTickRequest(`not a CloudEvent: ${(error as Error).message}`);
  }
  if (Array.isArray(event)) throw new BadTickRequest("a batch of CloudEvents is not a tick");
  if (event.type !== PING_TYPE) {
    throw new BadTickRequest(`CloudEvent type ${JSON.stringify(event.type)} is not ${PING_TYPE}`);
  }
  if (!event.id) throw new BadTickRequest("the ping has no id");
  let data: unknown = event.data;
  if (typeof data === "string" && data.trim() !== "") {
    try {
      data = JSON.parse(data);
    } catch {
      throw new BadTickRequest('the ping\'s data must be JSON like {"target":"<name>"}');
    }
  }
  return { target: targetOf(data), tickId: event.id };
}

/** The body as sent, whatever content type the framework did or did not parse it as. */
function readManualTarget(req: Request): string | undefined {
  const text = req.rawBody ? req.rawBody.toString("utf8").trim() : "";
  if (text === "") return undefined;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BadTickRequest('the body must be JSON: {} or {"target":"<name>"}');
  }
  return targetOf(body);
}

function targetOf(data: unknown): string | undefined {
  if (data === undefined || data === null || data === "") return undefined;
  if (typeof data !== "object" || Array.isArray(data)) {
    throw new BadTickRequest('the body must be {} or {"target":"<name>"}');
  }
  const unknown = Object.keys(data).filter((key) => key !== "target");
  if (unknown.length > 0) throw new BadTickRequest(`unknown field ${unknown[0]}`);
  const target = (data as { target?: unknown }).target;
  if (target === undefined) return undefined;
  if (typeof target !== "string" || !TARGET_NAME_PATTERN.test(target) || target.length > 63) {
    throw new BadTickRequest("target must be a name matching [a-z0-9][a-z0-9-]*");
  }
  return target;
}
