import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../../log/logger.ts";
import { describeFailedKills } from "../../process/signal-group.ts";
import { spawnGroup } from "../../process/spawn-group.ts";
import { forgeGitEnvironment } from "./run-forge-git.ts";

export interface GitHttpRequest {
  req: IncomingMessage;
  res: ServerResponse;
  /** GIT_PROJECT_ROOT: the folder holding `<owner>/<repo>.git`. */
  projectRoot: string;
  /** `/<owner>/<repo>.git/info/refs` and so on. */
  pathInfo: string;
  query: string;
  /** Who the token check let in. */
  remoteUser: string;
  timeoutMs: number;
  logger?: Logger;
}

/** How a git request ended, for the request log. */
export interface GitHttpOutcome {
  status: number;
  exitCode: number | null;
  timedOut: boolean;
}

const HEADER_END = Buffer.from("\r\n\r\n");
const HEADER_END_LF = Buffer.from("\n\n");
/** The CGI headers are a few hundred bytes; more without an end means the child misbehaves. */
const MAX_HEADER_BYTES = 64 * 1024;

/**
 * Serves one git smart HTTP request through `git http-backend` as a CGI child (git's own
 * server side, so every protocol detail — v0/v2, shallow, gzip bodies, chunked pushes — is
 * git's): the request body streams into its stdin, its `Status:` and headers become the reply's,
 * and the rest of its stdout streams out. The child is killed at the deadline.
 */
export function serveGitHttp(options: GitHttpRequest): Promise<GitHttpOutcome> {
  const { req, res } = options;
  const env = forgeGitEnvironment({
    GIT_PROJECT_ROOT: options.projectRoot,
    GIT_HTTP_EXPORT_ALL: "1",
    PATH_INFO: options.pathInfo,
    QUERY_STRING: options.query,
    REQUEST_METHOD: req.method ?? "GET",
    REMOTE_USER: options.remoteUser,
    REMOTE_ADDR: req.socket.remoteAddress ?? "127.0.0.1",
    GATEWAY_INTERFACE: "CGI/1.1",
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    CONTENT_TYPE: req.headers["content-type"] ?? "",
  });
  const length = req.headers["content-length"];
  if (length !== undefined) env.CONTENT_LENGTH = length;
  // git inflates a gzip body itself when told the encoding.
  const encoding = req.headers["content-encoding"];
  if (encoding) env.HTTP_CONTENT_ENCODING = encoding;
  // Protocol v2 is negotiated through this header.
  const protocol = req.headers["git-protocol"];
  if (typeof protocol === "string") env.HTTP_GIT_PROTOCOL = protocol;

  return new Promise((resolve) => {
    // Its own process group, so the time limit also stops the upload-pack/receive-pack it runs.
    const group = spawnGroup(["git", "http-backend"], {
      env,
      stdin: "pipe",
      tail: "stderr",
      tailLimit: 500,
      timeoutMs: options.timeoutMs,
      killGraceMs: 0,
      // The last of the reply may still wait in the pipe for a slow client.
      closeGraceMs: options.timeoutMs,
    });
    const child = group.child;
    const stop = () => group.kill("SIGKILL");
    let headerBytes: Buffer | undefined = Buffer.alloc(0);
    let status = 0;

    req.pipe(child.stdin!);
    // The child may exit before reading the whole body (an error reply): that is not ours to raise.
    child.stdin!.on("error", () => undefined);
    req.on("error", stop);
    res.on("close", () => {
      if (!res.writableFinished) stop();
    });

    child.stdout!.on("data", (chunk: Buffer) => {
      if (headerBytes === undefined) {
        if (!res.write(chunk)) {
          child.stdout!.pause();
          res.once("drain", () => child.stdout!.resume());
        }
        return;
      }
      headerBytes = Buffer.concat([headerBytes, chunk]);
      const parsed = splitCgiHeaders(headerBytes);
      if (!parsed) {
        if (headerBytes.length > MAX_HEADER_BYTES) stop();
        return;
      }
      headerBytes = undefined;
      status = parsed.status;
      res.writeHead(parsed.status, parsed.headers);
      if (parsed.rest.length > 0) res.write(parsed.rest);
    });

    void group.done.then((result) => {
      const exitCode = result.exit.kind === "exited" ? result.exit.code : null;
      const timedOut = result.timedOut;
      if (result.exit.kind === "not_started") {
        options.logger?.error(
          { err: result.exit.error.message },
          "git http-backend could not start",
        );
      }
      if (headerBytes !== undefined) {
        // The child said nothing usable: a gateway failure, as a CGI server reports it.
        status = timedOut ? 504 : 502;
        if (!res.headersSent) {
          res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
        }
        res.end(timedOut ? "git timed out\n" : "git failed\n");
      } else if (timedOut) {
        // Headers already went out: cutting the connection is the only honest signal.
        res.destroy();
      } else {
        res.end();
      }
      const failedKills = describeFailedKills(result.kills);
      const fields = {
        path: options.pathInfo,
        status,
        exitCode,
        timedOut,
        ms: result.ms,
        ...(failedKills ? { kill: failedKills } : {}),
      };
      if (exitCode === 0 && !timedOut && !failedKills) {
        options.logger?.debug(fields, "git http-backend done");
      } else {
        options.logger?.warn({ ...fields, stderr: result.tail.trim() }, "git http-backend failed");
      }
      resolve({ status, exitCode, timedOut });
    });
  });
}

interface CgiHead {
  status: number;
  headers: Record<string, string>;
  rest: Buffer;
}

/** The CGI response head (`Status: 404 Not Found`, headers, blank line), once all of it is in. */
export function splitCgiHeaders(buffer: Buffer): CgiHead | undefined {
  let end = buffer.indexOf(HEADER_END);
  let skip = HEADER_END.length;
  const lfEnd = buffer.indexOf(HEADER_END_LF);
  if (lfEnd !== -1 && (end === -1 || lfEnd < end)) {
    end = lfEnd;
    skip = HEADER_END_LF.length;
  }
  if (end === -1) return undefined;
  const headers: Record<string, string> = {};
  let status = 200;
  for (const line of buffer.subarray(0, end).toString("latin1").split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon === -1) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "status") status = Number.parseInt(value, 10) || 500;
    else headers[name] = value;
  }
  return { status, headers, rest: buffer.subarray(end + skip) };
}
