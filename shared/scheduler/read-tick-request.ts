import type { Request } from "@google-cloud/functions-framework";
import { HTTP } from "cloudevents";
import { errorMessage } from "../errors/error-message.ts";
import { TARGET_NAME_PATTERN } from "../events/schema.ts";
import { readRawBody } from "../net/read-raw-body.ts";

export const PING_TYPE = "dev.knative.sources.ping";

/** A ping's data is a few bytes; anything this large is not one. */
const MAX_BODY_BYTES = 64 * 1024;

/** Not a tick request: the handler answers 400 with the message. */
export class BadTickRequest extends Error {
  override readonly name = "BadTickRequest";
}

export function isCloudEvent(req: Request): boolean {
  const type = String(req.headers["content-type"] ?? "");
  return req.headers["ce-type"] !== undefined || type.startsWith("application/cloudevents");
}

/**
 * A ping: its id is the tick's id (a redelivery carries the same one). The adapter sends its
 * `data` as the body in binary mode with no Content-Type unless the PingSource sets
 * `contentType`, so the body is read as JSON whatever the header says.
 */
export async function readPing(req: Request): Promise<{ target?: string; tickId: string }> {
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
  return { ...(target !== undefined ? { target } : {}), tickId: event.id };
}

/** The body as sent, whatever content type the framework did or did not parse it as. */
export async function readManualTarget(req: Request): Promise<string | undefined> {
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
