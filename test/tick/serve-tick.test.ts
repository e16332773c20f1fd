import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CloudEvent, HTTP, type Message } from "cloudevents";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PING_TYPE } from "../../shared/scheduler/tick-http-handler.ts";
import {
  deadPort,
  GITHUB_TOKEN,
  type Served,
  send,
  serve,
  TOKEN,
  writeConfigs,
} from "../worker/worker-support.ts";

let dir: string;
let served: Served;
/** Where CONTROL_PLANE_URL points: a loopback port nothing listens on. */
let closedPort: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "leviathan-serve-tick-"));
  const configPath = await writeConfigs(dir);
  closedPort = await deadPort();
  served = await serve("tick", {
    CONTROL_PLANE_TOKEN: TOKEN,
    GITHUB_TOKEN,
    LEVIATHAN_CONFIG: configPath,
    LEVIATHAN_HOME: join(dir, "home"),
    LEVIATHAN_JOB_RUNNER: "process",
    CONTROL_PLANE_URL: `http://127.0.0.1:${closedPort}`,
  });
});
afterAll(async () => {
  // Normally stopped by the last test; this covers a failure before it.
  await served?.stop();
  await rm(dir, { recursive: true, force: true });
});

function json(body: unknown): Message {
  return { headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}

/** A CloudEvent as Knative delivers it: binary mode, attributes in ce-* headers. */
function cloudEvent(type: string, data?: Record<string, unknown>): Message {
  return HTTP.binary(
    new CloudEvent<Record<string, unknown>>({
      specversion: "1.0",
      id: randomUUID(),
      type,
      source: "/apis/v1/namespaces/leviathan/pingsources/leviathan-tick",
      ...(data ? { datacontenttype: "application/json", data } : {}),
    }),
  );
}

// One served process for the whole file, as Knative runs it: the tests run in order and the
// last one stops it.
describe("leviathan serve tick", () => {
  it("answers its health check without a token", async () => {
    const health = await fetch(`${served.url}health`, { signal: AbortSignal.timeout(10_000) });
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
  });

  it("refuses a manual tick without the bearer token", async () => {
    const reply = await send(served.url, json({}), null);
    expect(reply.status).toBe(401);
    const wrong = await send(served.url, json({}), `Bearer ${TOKEN}x`);
    expect(wrong.status).toBe(401);
  });

  it("answers 404 for a target with no config file beside LEVIATHAN_CONFIG", async () => {
    const reply = await send(served.url, json({ target: "nope" }));
    expect(reply.status).toBe(404);
    expect(String(reply.body.error)).toContain("nope.yaml");
  });

  it("answers 400 to a CloudEvent that is not a ping", async () => {
    const reply = await send(
      served.url,
      cloudEvent("dev.leviathan.attempt.requested", { target: "radix" }),
      null,
    );
    expect(reply.status).toBe(400);
    expect(String(reply.body.error)).toContain(PING_TYPE);
  });

  it("answers 503 to a ping while the control plane is unreachable, so PingSource retries", async () => {
    // As knative/tick.yaml's PingSource sends it: no data, so the target of LEVIATHAN_CONFIG.
    const reply = await send(served.url, cloudEvent(PING_TYPE), null);
    expect(reply.status).toBe(503);
    // Unavailable because of the control plane, not for some other reason.
    expect(String(reply.body.error)).toContain(`127.0.0.1:${closedPort}`);
    expect(JSON.stringify(reply.body)).not.toContain(TOKEN);
  });

  it("finishes on SIGTERM with exit 0, and never printed a token", async () => {
    expect(await served.stop()).toBe(0);
    expect(served.output()).toContain("SIGTERM");
    expect(served.output()).not.toContain(TOKEN);
    expect(served.output()).not.toContain(GITHUB_TOKEN);
  });
});

describe("leviathan serve tick without a token", () => {
  it("refuses to start, naming the variable", async () => {
    await expect(
      serve("tick", { LEVIATHAN_CONFIG: join(dir, "config", "dev.yaml") }),
    ).rejects.toThrow(/exited 1: [\s\S]*CONTROL_PLANE_TOKEN is not set/);
  });
});

describe("leviathan serve tick with its tokens in files", () => {
  it("takes CONTROL_PLANE_TOKEN_FILE's token as the one a manual tick needs", async () => {
    const tokenFile = join(dir, "control-plane-token");
    const githubFile = join(dir, "github-token");
    await writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    await writeFile(githubFile, `${GITHUB_TOKEN}\n`, { mode: 0o600 });
    const fromFiles = await serve("tick", {
      CONTROL_PLANE_TOKEN_FILE: tokenFile,
      GITHUB_TOKEN_FILE: githubFile,
      LEVIATHAN_CONFIG: join(dir, "config", "dev.yaml"),
      LEVIATHAN_HOME: join(dir, "home"),
    });
    try {
      // Past the token check to the config lookup: 404 for a target without a file.
      expect((await send(fromFiles.url, json({ target: "nope" }))).status).toBe(404);
      expect((await send(fromFiles.url, json({ target: "nope" }), "Bearer other")).status).toBe(
        401,
      );
    } finally {
      expect(await fromFiles.stop()).toBe(0);
    }
    expect(fromFiles.output()).not.toContain(TOKEN);
  });

  it("refuses to start when CONTROL_PLANE_TOKEN_FILE names no file, naming the variable and path", async () => {
    const missing = join(dir, "no-such-token");
    await expect(
      serve("tick", {
        CONTROL_PLANE_TOKEN_FILE: missing,
        LEVIATHAN_CONFIG: join(dir, "config", "dev.yaml"),
      }),
    ).rejects.toThrow(`CONTROL_PLANE_TOKEN_FILE: cannot read ${missing} (ENOENT)`);
  });
});
