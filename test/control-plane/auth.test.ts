import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, rawPost, startTestControlPlane, type TestControlPlane, TOKEN } from "./support.ts";

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => {
  await cp.cleanup();
});

const PATHS = [
  "/v1/events/ingest",
  "/v1/events",
  "/v1/events?after=0&limit=5",
  "/v1/graph/summary",
  "/v1/targets/radix",
  "/v1/targets/radix/circuit/reset",
  "/v1/targets/radix/ticks/ping-1",
  "/v1/attempts/attempt-x-12345678",
  "/metrics",
  "/v1/store/head",
  // Unknown routes: the answer (404) comes only after the token was checked. (`/` and
  // `/console/*` are the console's files, public: see console-files.test.ts.)
  "/consoles",
  "//",
  "/v1",
  "/v1/nope",
  "/v1/events/ingest/extra",
  "/health/extra",
];
const METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"];
const WRONG = {
  none: null,
  "wrong token": "Bearer not-the-token",
  "token with a suffix": `Bearer ${TOKEN}x`,
  "token prefix only": `Bearer ${TOKEN.slice(0, -1)}`,
  "Basic scheme": `Basic ${Buffer.from(`user:${TOKEN}`).toString("base64")}`,
  "token without scheme": TOKEN,
  "scheme without token": "Bearer",
  "empty header": "",
};

describe("every route but health needs the bearer token", () => {
  for (const path of PATHS) {
    for (const method of METHODS) {
      it(`${method} ${path}`, async () => {
        for (const [name, auth] of Object.entries(WRONG)) {
          const reply = await call(cp.url, path, { method, auth });
          expect(reply.status, `${name}`).toBe(401);
          expect(reply.headers.get("www-authenticate"), name).toMatch(/^Bearer/);
          expect(reply.json.detail, name).toBeTypeOf("string");
          expect(reply.text).not.toContain(TOKEN);
        }
        for (const auth of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `BEARER  ${TOKEN}`]) {
          const reply = await call(cp.url, path, { method, auth });
          expect(reply.status, auth.split(" ")[0]).not.toBe(401);
          expect(reply.json?.detail ?? "").not.toContain(TOKEN);
        }
      });
    }
  }
});

describe("after the token: 404 for an unknown route, 405 with Allow for a wrong method", () => {
  it.each([
    ["GET", "/v1/nope", 404, undefined],
    ["POST", "/v1/events/ingest/extra", 404, undefined],
    ["GET", "/v1/targets/radix/circuit", 404, undefined],
    ["GET", "/v1/events/ingest", 405, "POST"],
    ["DELETE", "/v1/events", 405, "GET, POST"],
    ["POST", "/v1/graph/summary", 405, "GET"],
    ["PUT", "/v1/targets/radix", 405, "GET"],
    ["GET", "/v1/targets/radix/circuit/reset", 405, "POST"],
    ["POST", "/v1/attempts/a", 405, "GET"],
    ["POST", "/v1/targets/radix/ticks/ping-1", 405, "GET"],
    ["POST", "/metrics", 405, "GET"],
    ["POST", "/health", 405, "GET"],
  ])("%s %s → %i", async (method, path, status, allow) => {
    const reply = await call(cp.url, path, { method });
    expect(reply.status).toBe(status);
    expect(reply.json.detail).toBeTypeOf("string");
    if (allow) expect(reply.headers.get("allow")).toBe(allow);
  });
});

describe("health needs no token", () => {
  it.each(["/health", "/healthz"])(
    "%s answers 200 with or without any Authorization",
    async (path) => {
      for (const auth of [null, "Bearer wrong", `Bearer ${TOKEN}`]) {
        const reply = await call(cp.url, path, { auth });
        expect(reply.status).toBe(200);
        expect(reply.json).toEqual({ status: "ok" });
      }
    },
  );
});

it("refuses an unauthenticated body before reading it", async () => {
  // A declared 1 GiB body of which only a few bytes are ever sent: a server that read the body
  // before checking the token would wait forever instead of answering.
  const reply = await rawPost(
    cp.url,
    "/v1/events/ingest",
    { "content-type": "application/json", "content-length": 1024 ** 3 },
    (req) => {
      req.write("{");
    },
  );
  expect(reply.status).toBe(401);
});
