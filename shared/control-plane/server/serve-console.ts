import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Every reply of the console carries these: no script, style, frame or form source but the
 * control plane itself, nothing inline, never framed, no referrer, no type sniffing.
 */
export const CONSOLE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; " +
    "object-src 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/** Only plain names are assets: no folder, no dot-file, nothing that could walk up. */
const ASSET_NAME = /^[a-z0-9][a-z0-9-]*\.(html|css|js|svg|png)$/;

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/** `GET /` and `/console/*`: the paths the console answers, without a token. */
export function isConsolePath(path: string): boolean {
  return path === "/" || path === "/console" || path.startsWith("/console/");
}

/**
 * Where the console's files are: beside this module's folder in the sources
 * (`shared/control-plane/console`). Running from `dist/`, the sources' copy wins when it is
 * there (it is what was edited last), else the copy the build put into `dist/`.
 */
export function findConsoleDir(moduleDir = dirname(fileURLToPath(import.meta.url))): string {
  const beside = resolve(moduleDir, "..", "console");
  const root = resolve(moduleDir, "..", "..", "..");
  if (basename(root) === "dist") {
    const sources = join(dirname(root), "shared", "control-plane", "console");
    if (existsSync(join(sources, "index.html"))) return sources;
  }
  return beside;
}

/**
 * Serves the console from memory: the files are read once, on the first request, from a fixed
 * list made by listing the folder, so a request path is only ever a key of that list (no path
 * is joined from a request, so `..`, `%2e%2e` or a NUL byte finds nothing). Answers carry an
 * ETag and must be revalidated (`no-cache`): a new version shows on the next load.
 */
export function createConsoleServer(dir = findConsoleDir()) {
  let assets: Map<string, Asset> | undefined;
  const load = (): Map<string, Asset> => {
    if (assets) return assets;
    const found = new Map<string, Asset>();
    const names = existsSync(dir) ? readdirSync(dir) : [];
    for (const name of names) {
      if (!ASSET_NAME.test(name)) continue;
      const body = readFileSync(join(dir, name));
      const type = TYPES[name.slice(name.lastIndexOf("."))]!;
      const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
      found.set(name === "index.html" ? "/" : `/console/${name}`, { body, type, etag });
    }
    assets = found;
    return found;
  };

  return function serveConsole(req: IncomingMessage, res: ServerResponse, path: string): void {
    if (req.method !== "GET" && req.method !== "HEAD") {
      // A body we will not read is not drained: the connection goes after the reply.
      if (!req.complete) res.setHeader("connection", "close");
      send(res, 405, "text/plain; charset=utf-8", Buffer.from("method not allowed\n"), {
        allow: "GET, HEAD",
      });
      return;
    }
    if (path === "/console" || path === "/console/") {
      send(res, 308, "text/plain; charset=utf-8", Buffer.from("see /\n"), { location: "/" });
      return;
    }
    const asset = load().get(path);
    if (!asset) {
      send(res, 404, "text/plain; charset=utf-8", Buffer.from("no such console file\n"));
      return;
    }
    const headers = { etag: asset.etag, "cache-control": "no-cache" };
    if (req.headers["if-none-match"] === asset.etag) {
      res.writeHead(304, { ...CONSOLE_SECURITY_HEADERS, ...headers });
      res.end();
      return;
    }
    send(res, 200, asset.type, asset.body, headers);
  };
}

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: Buffer,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...CONSOLE_SECURITY_HEADERS,
    "cache-control": "no-store",
    ...headers,
    "content-type": type,
    "content-length": body.length,
  });
  res.end(body);
}
