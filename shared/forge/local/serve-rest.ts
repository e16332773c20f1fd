import { createHash, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { STATUS_CODES } from "node:http";
import type { TokenCheck } from "./check-forge-token.ts";
import { badCredentials, DOCUMENTATION_URL, ForgeHttpError, notFound } from "./forge-errors.ts";
import type { ForgeServices } from "./forge-services.ts";
import type { RateLimit } from "./rate-limit.ts";
import { readJsonBody } from "./read-json-body.ts";
import type { RestReply } from "./rest-context.ts";
import { REST_ROUTES } from "./rest-routes.ts";
import { authorize } from "./route-access.ts";

/** Where the REST API lives on the forge's origin, as on GitHub Enterprise. */
export const API_PREFIX = "/api/v3";

export interface RestServer {
  services: ForgeServices;
  tokens: TokenCheck;
  rateLimit: RateLimit;
}

/**
 * One REST request: the token first (nothing is read before it), then the route, then the
 * handler; every reply — errors included — carries GitHub's headers and error shape.
 */
export async function serveRest(
  server: RestServer,
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  search: string,
): Promise<void> {
  const authorization = req.headers.authorization;
  const headers = () => ({ ...server.rateLimit.take(authorization), ...githubHeaders() });
  try {
    const principal = server.tokens.rest(req.headers.authorization);
    if ("refused" in principal) throw badCredentials(principal.refused);
    const path = pathname.slice(API_PREFIX.length) || "/";
    const match = matchRoute(req.method ?? "GET", path);
    if (!match) throw notFound();
    authorize(principal, match.route.access, match.params);
    const reply = await match.route.handler({
      services: server.services,
      params: match.params,
      principal,
      query: new URLSearchParams(search),
      headers: req.headers,
      url: `${server.services.urls.apiUrl}${path}`,
      body: () => readJsonBody(req, res),
    });
    if (req.method === "GET" && reply.status === 200) {
      sendConditional(server, req, res, reply);
      return;
    }
    send(res, reply, headers());
  } catch (error) {
    if (!(error instanceof ForgeHttpError)) {
      server.services.logger?.error(
        { err: error instanceof Error ? error.message : String(error), path: pathname },
        "forge REST request failed",
      );
    }
    const failure =
      error instanceof ForgeHttpError ? error : new ForgeHttpError(500, "Server Error");
    // A body we never read is not drained: the connection goes after the reply instead.
    if (!req.complete) res.setHeader("connection", "close");
    send(res, { status: failure.status, body: failure.body }, headers());
  }
}

/** The body of a reply made up by a fault: GitHub's error shape unless the fault gives one. */
export function faultBody(status: number): { message: string; documentation_url: string } {
  return { message: STATUS_CODES[status] ?? "Error", documentation_url: DOCUMENTATION_URL };
}

export function githubHeaders(): Record<string, string> {
  return {
    "x-github-media-type": "github.v3; format=json",
    "x-github-api-version-selected": "2022-11-28",
    "x-github-request-id": randomUUID(),
    "cache-control": "no-store",
  };
}

/**
 * A read, as GitHub answers it: a strong `ETag` of the exact bytes (so the JSON and raw media
 * types of one file differ), and a 304 without a body, costing no rate limit, when the
 * request's `If-None-Match` names it. The token was checked before: a 304 is never an answer to
 * someone who may not read the resource.
 */
function sendConditional(
  server: RestServer,
  req: IncomingMessage,
  res: ServerResponse,
  reply: RestReply,
): void {
  const bytes = bodyBytes(reply);
  const etag = `"${createHash("sha256").update(bytes).digest("hex").slice(0, 40)}"`;
  const cache = {
    etag,
    "cache-control": "private, max-age=60, s-maxage=60",
    vary: "Accept, Authorization",
  };
  const authorization = req.headers.authorization;
  if (matchesEtag(req.headers["if-none-match"], etag)) {
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    res.writeHead(304, { ...server.rateLimit.peek(authorization), ...githubHeaders(), ...cache });
    res.end();
    return;
  }
  send(
    res,
    reply,
    { ...server.rateLimit.take(authorization), ...githubHeaders(), ...cache },
    bytes,
  );
}

/** `If-None-Match` compares weakly (RFC 9110): `W/"x"` matches `"x"`; `*` matches anything. */
export function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(",").some((entry) => {
    const tag = entry.trim();
    return tag === "*" || tag.replace(/^W\//, "") === etag;
  });
}

function bodyBytes(reply: RestReply): Buffer {
  return reply.raw?.bytes ?? Buffer.from(JSON.stringify(reply.body));
}

function send(
  res: ServerResponse,
  reply: RestReply,
  headers: Record<string, string>,
  body?: Buffer,
): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const bytes = body ?? bodyBytes(reply);
  res.writeHead(reply.status, {
    ...headers,
    ...reply.headers,
    "content-type": reply.raw?.contentType ?? "application/json; charset=utf-8",
    "content-length": bytes.length,
  });
  res.end(bytes);
}

function matchRoute(method: string, path: string) {
  for (const route of REST_ROUTES) {
    if (route.method !== method) continue;
    const found = route.pattern.exec(path);
    if (!found) continue;
    const params: Record<string, string> = {};
    try {
      route.names.forEach((name, index) => {
        const raw = found[index + 1];
        // The contents path keeps its slashes; each segment is decoded on its own.
        if (raw !== undefined) params[name] = raw.split("/").map(decodeURIComponent).join("/");
      });
    } catch {
      return undefined;
    }
    return { route, params };
  }
  return undefined;
}
