import type { IncomingMessage, ServerResponse } from "node:http";
import { errorMessage } from "../../errors/error-message.ts";
import { HttpError } from "./http-reply.ts";

export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, `request body is larger than ${maxBytes} bytes`, {}, true);
}

/**
 * Reads a request body of at most `maxBytes`. A declared Content-Length over the
 * limit is refused before a byte is read; a body that turns out longer (chunked, or lying
 * about its length) is refused the moment it passes the limit, and reading stops there.
 * Only called after the token was checked, so nothing unauthenticated is ever read.
 */
export function readBody(
  req: IncomingMessage,
  res: ServerResponse,
  maxBytes: number,
): Promise<Buffer> {
  const encoding = req.headers["content-encoding"]?.trim().toLowerCase();
  if (encoding && encoding !== "identity") {
    return Promise.reject(new HttpError(415, `content-encoding ${encoding} is not supported`));
  }
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > maxBytes) {
    return Promise.reject(tooLarge(maxBytes));
  }
  // The client waited for our go-ahead (`Expect: 100-continue`): it has passed every check.
  if (req.headers.expect?.toLowerCase() === "100-continue") res.writeContinue();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const stop = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > maxBytes) {
        stop();
        req.pause();
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      stop();
      resolve(Buffer.concat(chunks, total));
    };
    const onError = (error: Error) => {
      stop();
      reject(error);
    };
    const onClose = () => {
      stop();
      reject(new Error("the client closed the connection before the body was complete"));
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

/** A body as JSON: UTF-8 only, and every failure a 422 naming the whole body (path ""). */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) {
    throw new HttpError(422, [{ path: "", message: "the body is empty; expected JSON" }]);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    throw new HttpError(422, [{ path: "", message: "the body is not valid UTF-8" }]);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const reason = errorMessage(error);
    throw new HttpError(422, [{ path: "", message: `the body is not valid JSON: ${reason}` }]);
  }
}
