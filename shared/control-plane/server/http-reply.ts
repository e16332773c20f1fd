import type { ServerResponse } from "node:http";
import type { ValidationDetail } from "../../events/schema.ts";

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
  sendJsonText(res, status, JSON.stringify(body), headers);
}

/** A reply whose JSON text is already made (a cached query answer). */
export function sendJsonText(
  res: ServerResponse,
  status: number,
  text: string | Buffer,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...headers,
  });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string, type: string): void {
  res.writeHead(status, {
    "content-type": type,
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
  });
  res.end(text);
}
