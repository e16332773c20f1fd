// The tick function as Knative's PingSource adapter (knative/eventing pkg/adapter/mtping) calls
// it: binary mode, attributes in Go-canonical `Ce-*` headers, and `spec.data` as the body with
// no Content-Type at all unless the PingSource sets `contentType`. Served through the functions
// framework on loopback, against a real control plane.
import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ControlPlaneClient } from "../../shared/control-plane/client/control-plane-client.ts";
import { forgeFromConfig } from "../../shared/forge/github/forge-from-config.ts";
import { type ServedFunction, serveFunction } from "../../shared/local/serve-function.ts";
import { composeTick } from "../../shared/scheduler/compose-tick.ts";
import { parseTickEnv } from "../../shared/scheduler/tick-env.ts";
import { createTickHandler } from "../../shared/scheduler/tick-http-handler.ts";
import { startTestControlPlane, type TestControlPlane, TOKEN } from "../control-plane/support.ts";
import { httpRequest, jsonOf } from "../support/http-request.ts";
import { repoPath } from "../support/repo-root.ts";
import { silentLogger } from "../support/store/store-helpers.ts";

let cp: TestControlPlane;
let client: ControlPlaneClient;
let tick: ServedFunction;
let dir: string;

beforeAll(async () => {
  cp = await startTestControlPlane();
  client = new ControlPlaneClient({ url: cp.url, token: TOKEN, attempts: 1 });
  dir = await mkdtemp(join(tmpdir(), "leviathan-ping-"));
  // Autonomy off: each tick records its skip under its own target and asks no forge.
  const seed = `${await readFile(repoPath("ops", "autonomy", "dev.yaml"), "utf8")}autonomy_enabled: false\n`;
  await writeFile(join(dir, "dev.yaml"), seed);
  for (const target of ["docs-site", "api"]) {
    await writeFile(
      join(dir, `${target}.yaml`),
      seed.replace("target_id: radix", `target_id: ${target}`),
    );
  }
  const env = {
    LEVIATHAN_CONFIG: join(dir, "dev.yaml"),
    LEVIATHAN_HOME: dir,
    CONTROL_PLANE_URL: cp.url,
    CONTROL_PLANE_TOKEN: TOKEN,
  };
  tick = await serveFunction(
    "tick",
    createTickHandler({
      tick: composeTick(parseTickEnv(env), { createForge: forgeFromConfig, logger: silentLogger }),
      gateToken: TOKEN,
      logger: silentLogger,
    }),
  );
});

afterAll(async () => {
  await tick?.close();
  await cp?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

/** One delivery exactly as the adapter's Go client makes it. */
function ping(body: string, options: { id?: string; contentType?: string } = {}) {
  return httpRequest(`${tick.url}/`, {
    method: "POST",
    headers: {
      "User-Agent": "Go-http-client/1.1",
      "Content-Length": Buffer.byteLength(body),
      "Ce-Id": options.id ?? randomUUID(),
      "Ce-Source": "/apis/v1/namespaces/leviathan/pingsources/leviathan-tick-docs-site",
      "Ce-Specversion": "1.0",
      "Ce-Time": new Date().toISOString(),
      "Ce-Type": "dev.knative.sources.ping",
      ...(options.contentType ? { "Content-Type": options.contentType } : {}),
      "Accept-Encoding": "gzip",
    },
    body,
  });
}

/** Which targets the skips recorded for these tick ids went to. */
async function targetsOf(tickIds: string[]): Promise<string[]> {
  const records = (await client.getEvents(0, 10_000)).records;
  return tickIds.map((id) => {
    const skip = records.find(
      (r) => r.event.event_type === "scheduler.skipped" && r.event.payload.tick_id === id,
    );
    return skip?.target ?? "none";
  });
}

describe("a PingSource delivery", () => {
  it("ticks the target its data names, with no Content-Type at all", async () => {
    const id = randomUUID();
    const reply = await ping('{"target":"docs-site"}', { id });
    expect(reply.status).toBe(200);
    expect(jsonOf(reply)).toEqual({ action: "skip", reason: "autonomy_disabled" });
    expect(await targetsOf([id])).toEqual(["docs-site"]);
  });

  it("ticks each of two targets from its own ping, and LEVIATHAN_CONFIG's without data", async () => {
    const [docs, api, none] = [randomUUID(), randomUUID(), randomUUID()];
    const replies = await Promise.all([
      ping('{"target":"docs-site"}', { id: docs }),
      ping('{"target":"api"}', { id: api }),
      ping("", { id: none }),
    ]);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(await targetsOf([docs, api, none])).toEqual(["docs-site", "api", "radix"]);
  });

  it("reads the data as JSON whatever Content-Type the PingSource set", async () => {
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const types = ["text/plain", "application/octet-stream", "application/json"];
    const replies = await Promise.all(
      types.map((contentType, i) => ping('{"target":"docs-site"}', { id: ids[i]!, contentType })),
    );
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(await targetsOf(ids)).toEqual(["docs-site", "docs-site", "docs-site"]);
  });

  it("answers a redelivered ping (the same Ce-Id) with its first decision, recording nothing", async () => {
    const id = randomUUID();
    const first = await ping('{"target":"docs-site"}', { id });
    const before = (await client.getEvents(0, 10_000)).records.length;
    const again = await ping('{"target":"docs-site"}', { id });
    expect(again.status).toBe(200);
    expect(jsonOf(again)).toEqual({ ...(jsonOf(first) as object), replayed: true });
    expect((await client.getEvents(0, 10_000)).records).toHaveLength(before);
  });

  it("answers 400 to data that is not a JSON object, and records nothing for it", async () => {
    const bodies = ["docs-site", '"docs-site"', "[]", "null", "42", '{"target":"docs-site"'];
    const ids = bodies.map(() => randomUUID());
    for (const [i, body] of bodies.entries()) {
      const reply = await ping(body, { id: ids[i]! });
      expect(reply.status, body).toBe(400);
      expect(String((jsonOf(reply) as { error: string }).error), body).toMatch(/JSON|\{\}/);
    }
    expect(await targetsOf(ids)).toEqual(bodies.map(() => "none"));
  });
});
