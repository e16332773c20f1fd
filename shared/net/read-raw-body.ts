import type { Request } from "@google-cloud/functions-framework";

export class BodyTooLargeError extends Error {
  override readonly name = "BodyTooLargeError";
}

/**
 * The request's bytes as sent. The functions framework keeps them (`rawBody`) only when one of
 * its parsers took the Content-Type; a request without one (a PingSource without `contentType`)
 * still has its body unread in the stream.
 */
export async function readRawBody(req: Request, limitBytes: number): Promise<Buffer> {
  if (req.rawBody) {
    if (req.rawBody.length > limitBytes) throw tooLarge(limitBytes);
    return req.rawBody;
  }
  // A parser that read the stream without keeping bytes saw an empty body.
  if (req.readableEnded) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) throw tooLarge(limitBytes);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function tooLarge(limitBytes: number): BodyTooLargeError {
  return new BodyTooLargeError(`the body is larger than ${limitBytes} bytes`);
}
