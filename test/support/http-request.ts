// One HTTP request over node:http with a deadline, for load and fuzz clients that share a
// keep-alive agent. Resolves with the reply; rejects only when no reply arrived.
import { type Agent, type IncomingHttpHeaders, request } from "node:http";

export interface HttpReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string | number>;
  /** A body in several pieces is sent chunked (no Content-Length) unless a length is set. */
  body?: string | Buffer | Array<string | Buffer>;
  agent?: Agent;
  /** Default 20 s. */
  timeoutMs?: number;
}

export class NoReplyError extends Error {
  override readonly name = "NoReplyError";
}

export function httpRequest(url: string, options: HttpRequestOptions = {}): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    let replied = false;
    const req = request(
      url,
      {
        method: options.method ?? (options.body === undefined ? "GET" : "POST"),
        headers: options.headers,
        ...(options.agent ? { agent: options.agent } : {}),
        timeout: options.timeoutMs ?? 20_000,
      },
      (res) => {
        replied = true;
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on("error", (error) => reject(new NoReplyError(`reply cut short: ${error.message}`)));
        res.on("aborted", () => reject(new NoReplyError("reply cut short")));
      },
    );
    req.on("timeout", () => req.destroy(new NoReplyError("no reply before the deadline")));
    req.on("error", (error) => {
      // A server may cut the connection while we still send a body it refused (413): the reply
      // it sent first is what counts.
      if (!replied) reject(new NoReplyError(error.message, { cause: error }));
    });
    const body = options.body;
    if (Array.isArray(body)) {
      for (const piece of body) req.write(piece);
      req.end();
    } else {
      req.end(body);
    }
  });
}

export function jsonOf(reply: HttpReply): unknown {
  return JSON.parse(reply.body.toString("utf8"));
}
