import type { ServerResponse } from "node:http";
import type { ValidationDetail } from "../../events/schema.ts";
import { type JsonParts, partsLength } from "./json-parts.ts";

/**
 * An error reply: its status and the `detail` every error body carries, either a
 * sentence or the list of validation problems of a 422.
 */
export class HttpError extends Error {
  override readonly name = "HttpError";
  constructor(
    readonly status: number,
    readonly detail: string | ValidationDetail[],
    readonly headers: Record<string, string> = {},
    /** Stop the connection after the reply: the client may still be sending a body we refuse. */
    readonly closeConnection = false,
  ) {
    super(typeof detail === "string" ? detail : `${detail.length} validation problem(s)`);
  }
}

export function unprocessable(details: ValidationDetail[]): HttpError {
  return new HttpError(422, details);
}

/** Writes a JSON reply; replies are never cached (they describe a log that keeps growing). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, jsonHeaders(Buffer.byteLength(text), headers));
  res.end(text);
}

/**
 * A reply whose JSON is already made, in pieces (a kept query answer): written as they are,
 * corked so they leave in one writev, never joined (that would copy megabytes per reply).
 */
export function sendJsonParts(res: ServerResponse, status: number, parts: JsonParts): void {
  res.writeHead(status, jsonHeaders(partsLength(parts), {}));
  res.cork();
  for (const part of parts) res.write(part);
  res.end();
  res.uncork();
}

function jsonHeaders(
  length: number,
  headers: Record<string, string>,
): Record<string, string | number> {
  return {
    "content-type": "application/json; charset=utf-8",
    "content-length": length,
    "cache-control": "no-store",
    ...headers,
  };
}

export function sendText(res: ServerResponse, status: number, text: string, type: string): void {
  res.writeHead(status, {
    "content-type": type,
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
  });
  res.end(text);
}
