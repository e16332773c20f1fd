import { spawn } from "node:child_process";
import type { IncomingMessage, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import type { Logger } from "../../log/logger.ts";
import { killProcessGroup } from "./kill-process-group.ts";
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
  const started = performance.now();
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
    const child = spawn("git", ["http-backend"], {
      env,
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    let timedOut = false;
    let headerBytes: Buffer | undefined = Buffer.alloc(0);
    let status = 0;
    const stderr: Buffer[] = [];
    const timer = setTimeout(() => {
      timedOut = true;
      killProcessGroup(child);
    }, options.timeoutMs);
    timer.unref();

    req.pipe(child.stdin);
    // The child may exit before reading the whole body (an error reply): that is not ours to raise.
    child.stdin.on("error", () => undefined);
    req.on("error", () => killProcessGroup(child));
    res.on("close", () => {
      if (!res.writableFinished) killProcessGroup(child);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      if (stderr.length < 64) stderr.push(chunk);
    });

    child.stdout.on("data", (chunk: Buffer) => {
      if (headerBytes === undefined) {
        if (!res.write(chunk)) {
          child.stdout.pause();
          res.once("drain", () => child.stdout.resume());
        }
        return;
      }
      headerBytes = Buffer.concat([headerBytes, chunk]);
      const parsed = splitCgiHeaders(headerBytes);
      if (!parsed) {
        if (headerBytes.length > MAX_HEADER_BYTES) killProcessGroup(child);
        return;
      }
      headerBytes = undefined;
      status = parsed.status;
      res.writeHead(parsed.status, parsed.headers);
      if (parsed.rest.length > 0) res.write(parsed.rest);
    });

    child.on("error", (error) => {
      clearTimeout(timer);
      options.logger?.error({ err: error.message }, "git http-backend could not start");
      finish(null);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      finish(code);
    });

    let finished = false;
    function finish(exitCode: number | null): void {
      if (finished) return;
      finished = true;
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
      const ms = Math.round(performance.now() - started);
      const fields = { path: options.pathInfo, status, exitCode, timedOut, ms };
      if (exitCode === 0 && !timedOut) options.logger?.debug(fields, "git http-backend done");
      else {
        const message = Buffer.concat(stderr).toString("utf8").trim().slice(-500);
        options.logger?.warn({ ...fields, stderr: message }, "git http-backend failed");
      }
      resolve({ status, exitCode, timedOut });
    }
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
