import { randomUUID } from "node:crypto";
import type { HttpFunction, Request } from "@google-cloud/functions-framework";
import { HTTP } from "cloudevents";
import { errorMessage } from "../errors/error-message.ts";
import { type ErrorTable, lookUpError } from "../errors/error-table.ts";
import { TARGET_NAME_PATTERN } from "../events/schema.ts";
import { createLogger, type Logger, redact } from "../log/logger.ts";
import { tokenDigest } from "../net/check-bearer-token.ts";
import { answeredBeforePostRoot, refusedWithoutToken } from "../net/http-function.ts";
import { readRawBody } from "../net/read-raw-body.ts";
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

/** A ping's data is a few bytes; anything this large is not one. */
const MAX_BODY_BYTES = 64 * 1024;

class BadTickRequest extends Error {}

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
        request = await readPing(req);
      } else {
        if (refusedWithoutToken(req, res, expected)) return;
        request = { target: await readManualTarget(req), tickId: `manual-${randomUUID()}` };
      }
    } catch (error) {
      res.status(400).json({ error: errorMessage(error) });
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
      const message = redact(errorMessage(error), secrets);
      const status = lookUpError(TICK_ERROR_STATUS, error) ?? 500;
      logger[status === 500 ? "error" : "warn"]({ status, err: message }, "tick failed");
      res.status(status).json({ error: message });
    }
  };
}

function isCloudEvent(req: Request): boolean {
  const type = String(req.headers["content-type"] ?? "");
  return req.headers["ce-type"] !== undefined || type.startsWith("application/cloudevents");
}

/**
 * A ping: its id is the tick's id (a redelivery carries the same one). The adapter sends its
 * `data` as the body in binary mode with no Content-Type unless the PingSource sets
 * `contentType`, so the body is read as JSON whatever the header says.
 */
async function readPing(req: Request): Promise<{ target: string | undefined; tickId: string }> {
  const body = (await readRawBody(req, MAX_BODY_BYTES)).toString("utf8");
  const structured = String(req.headers["content-type"] ?? "").startsWith(
    "application/cloudevents",
  );
  let event: ReturnType<typeof HTTP.toEvent>;
  try {
    // Binary mode: only the attributes come from the SDK, which would parse the body by the
    // Content-Type (or not at all without one).
    event = structured
      ? HTTP.toEvent({ headers: req.headers, body })
      : HTTP.toEvent({ headers: withoutContentType(req.headers), body: undefined });
  } catch (error) {
    throw new BadTickRequest(`not a CloudEvent: ${errorMessage(error)}`);
  }
  if (Array.isArray(event)) throw new BadTickRequest("a batch of CloudEvents is not a tick");
  if (event.type !== PING_TYPE) {
    throw new BadTickRequest(`CloudEvent type ${JSON.stringify(event.type)} is not ${PING_TYPE}`);
  }
  if (!event.id) throw new BadTickRequest("the ping has no id");
  const data = structured ? event.data : body;
  const target =
    typeof data === "string" || data === undefined ? targetOfText(data) : targetOf(data);
  return { target, tickId: event.id };
}

/** The body as sent, whatever content type the framework did or did not parse it as. */
async function readManualTarget(req: Request): Promise<string | undefined> {
  return targetOfText((await readRawBody(req, MAX_BODY_BYTES)).toString("utf8"));
}

function withoutContentType(headers: Request["headers"]): Request["headers"] {
  const { "content-type": _ignored, ...rest } = headers;
  return rest;
}

/** Empty means the default target; anything else must be a JSON object. */
function targetOfText(text: string | undefined): string | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BadTickRequest('the body must be JSON: {} or {"target":"<name>"}');
  }
  return targetOf(body);
}

function targetOf(data: unknown): string | undefined {
  if (data === undefined) return undefined;
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
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
