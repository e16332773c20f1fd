// The console's files over plain HTTP: served without a token (they hold no data), with the
// security headers, the right types and revalidation; nothing else on disk can be reached
// through them, however the path is spelled.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CONSOLE_SECURITY_HEADERS,
  findConsoleDir,
} from "../../shared/control-plane/server/serve-console.ts";
import { httpRequest } from "../support/http-request.ts";
import { call, startTestControlPlane, type TestControlPlane, tempDir } from "./support.ts";

const CONSOLE_DIR = join(import.meta.dirname, "..", "..", "shared", "control-plane", "console");

let cp: TestControlPlane;
let port: number;

beforeAll(async () => {
  cp = await startTestControlPlane();
  port = cp.running.port;
});

afterAll(async () => {
  await cp.cleanup();
});

/** One request written byte for byte: no client normalises `..` or refuses a NUL here. */
function rawGet(
  path: string,
  headers = "",
): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let data = "";
    socket.setTimeout(10_000, () => socket.destroy(new Error("no reply")));
    socket.on("data", (chunk) => {
      data += chunk.toString("latin1");
    });
    socket.on("error", reject);
    socket.on("close", () => {
      const at = data.indexOf("\r\n\r\n");
      const head = data.slice(0, at);
      resolve({ status: Number(head.split(" ")[1]), head, body: data.slice(at + 4) });
    });
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${headers}\r\n`);
  });
}

function expectSecurityHeaders(headers: Record<string, string | string[] | undefined>): void {
  const csp = String(headers["content-security-policy"]);
  expect(csp).not.toContain("unsafe-inline");
  expect(csp).not.toContain("unsafe-eval");
  expect(csp).toContain("default-src 'self'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("style-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("base-uri 'none'");
  expect(csp).toContain("form-action 'self'");
  expect(csp).toContain("connect-src 'self'");
  expect(headers["x-content-type-options"]).toBe("nosniff");
  expect(headers["referrer-policy"]).toBe("no-referrer");
}

describe("the console's files", () => {
  it("GET / is the page, without a token, with the security headers", async () => {
    const reply = await httpRequest(`${cp.url}/`);
    expect(reply.status).toBe(200);
    expect(reply.headers["content-type"]).toBe("text/html; charset=utf-8");
    expectSecurityHeaders(reply.headers);
    expect(reply.headers["cache-control"]).toBe("no-cache");
    expect(reply.headers.etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(reply.body.toString()).toBe(readFileSync(join(CONSOLE_DIR, "index.html"), "utf8"));
  });

  it.each([
    ["/console/console.js", "text/javascript; charset=utf-8"],
    ["/console/console.css", "text/css; charset=utf-8"],
  ])("%s is served as %s, with the same headers", async (path, type) => {
    const reply = await httpRequest(`${cp.url}${path}`);
    expect(reply.status).toBe(200);
    expect(reply.headers["content-type"]).toBe(type);
    expectSecurityHeaders(reply.headers);
    const again = await httpRequest(`${cp.url}${path}`, {
      headers: { "if-none-match": String(reply.headers.etag) },
    });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
  });

  it("the page has no inline script or style for the policy to refuse, and loads nothing from elsewhere", () => {
    for (const name of readdirSync(CONSOLE_DIR).filter((n) => n.endsWith(".html"))) {
      const html = readFileSync(join(CONSOLE_DIR, name), "utf8");
      for (const tag of html.match(/<script\b[^>]*>/g) ?? [])
        expect(tag).toMatch(/\ssrc="\/console\//);
      expect(html).not.toMatch(/<script\b[^>]*>[^<]+<\/script>/);
      expect(html).not.toMatch(/<style\b/i);
      expect(html).not.toMatch(/\sstyle=/i);
      expect(html).not.toMatch(/\son[a-z]+=/i);
      expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    }
    const js = readFileSync(join(CONSOLE_DIR, "console.js"), "utf8");
    // Data is written as text: no HTML parsing of anything, no eval.
    expect(js).not.toMatch(
      /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/,
    );
    expect(js).not.toMatch(/localStorage|document\.cookie/);
    expect(js).not.toMatch(/https?:\/\/[a-z]/);
  });

  it("HEAD answers the headers only; other methods are 405; /console redirects to /", async () => {
    const head = await httpRequest(`${cp.url}/console/console.js`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    const post = await httpRequest(`${cp.url}/`, { method: "POST", body: "x" });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe("GET, HEAD");
    const bare = await httpRequest(`${cp.url}/console`);
    expect(bare.status).toBe(308);
    expect(bare.headers.location).toBe("/");
  });

  it("the data routes still need the token", async () => {
    expect((await call(cp.url, "/v1/graph/summary", { auth: null })).status).toBe(401);
    expect((await call(cp.url, "/metrics", { auth: null })).status).toBe(401);
    expect((await call(cp.url, "/v1/graph/summary")).status).toBe(200);
  });
});

describe("the attacker's paths reach nothing but the console's own files", () => {
  it.each([
    "/console/../control-plane-routes.ts",
    "/console/../server/control-plane-routes.ts",
    "/console/%2e%2e/server/control-plane-routes.ts",
    "/console/%2E%2E%2Fserver%2Fcontrol-plane-routes.ts",
    "/console/..%2f..%2f..%2fpackage.json",
    "/console/....//....//package.json",
    "/console//etc/passwd",
    "/console/%2fetc%2fpasswd",
    "/console/console.js%00.html",
    "/console/console.js\u0000",
    "/console/index.html",
    "/console/.gitignore",
    "/console/console.js/",
    "/console/CONSOLE.JS",
    "/console/console.js.map",
  ])("%s is 404 and shows no file", async (path) => {
    const reply = await rawGet(path);
    // Node refuses a raw NUL in a request line itself (400); anything else is our 404.
    expect([400, 404]).toContain(reply.status);
    expect(reply.body).not.toContain("CONTROL_PLANE_ROUTES");
    expect(reply.body).not.toContain("root:");
    expect(reply.body).not.toContain('"name": "leviathan"');
  });

  it("the 404 of a console path carries the security headers too", async () => {
    const reply = await httpRequest(`${cp.url}/console/nope.js`);
    expect(reply.status).toBe(404);
    expect(reply.headers["x-content-type-options"]).toBe(
      CONSOLE_SECURITY_HEADERS["x-content-type-options"],
    );
  });
});

describe("where the files are found", () => {
  it("beside the sources, and from dist/: the sources' copy when there, else the built one", async () => {
    const root = await tempDir("leviathan-console-dir-");
    const built = join(root, "dist", "shared", "control-plane");
    mkdirSync(join(built, "server"), { recursive: true });
    mkdirSync(join(built, "console"), { recursive: true });
    writeFileSync(join(built, "console", "index.html"), "built");
    expect(findConsoleDir(join(built, "server"))).toBe(join(built, "console"));
    const sources = join(root, "shared", "control-plane", "console");
    mkdirSync(sources, { recursive: true });
    writeFileSync(join(sources, "index.html"), "sources");
    expect(findConsoleDir(join(built, "server"))).toBe(sources);
    expect(findConsoleDir(join(root, "shared", "control-plane", "server"))).toBe(sources);
  });

  it("a control plane given a folder serves that folder's files", async () => {
    const dir = await tempDir("leviathan-console-files-");
    writeFileSync(join(dir, "index.html"), "<!doctype html><title>x</title>");
    const other = await startTestControlPlane({ consoleDir: dir });
    try {
      const reply = await httpRequest(`${other.url}/`);
      expect(reply.body.toString()).toBe("<!doctype html><title>x</title>");
      expect((await httpRequest(`${other.url}/console/console.js`)).status).toBe(404);
    } finally {
      await other.cleanup();
    }
  });
});
