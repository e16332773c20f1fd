// Many targets from one config directory: `render knative --config-dir` for 12 targets gives one
// ConfigMap with every file and 12 PingSources with spread schedules, all valid Kubernetes and
// Knative objects; then each PingSource's ping, delivered as the adapter sends it to the real
// tick handler (config folder as the ConfigMap mounts it, the local forge holding 12
// repositories, a real control plane), ticks its own target and reads its own repository.
import { randomBytes, randomUUID } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../shared/config/load-config.ts";
import { ControlPlaneClient } from "../../shared/control-plane/client/control-plane-client.ts";
import { CONFIG_MOUNT_DIR } from "../../shared/deploy/names.ts";
import { minutesOf } from "../../shared/deploy/spread-schedules.ts";
import { forgeFromConfig } from "../../shared/forge/github/forge-from-config.ts";
import { startLocalForge } from "../../shared/forge/local/start-local-forge.ts";
import type { LocalForge } from "../../shared/forge/local/types.ts";
import { type ServedFunction, serveFunction } from "../../shared/local/serve-function.ts";
import { composeTick } from "../../shared/scheduler/compose-tick.ts";
import { parseTickEnv } from "../../shared/scheduler/tick-env.ts";
import { createTickHandler } from "../../shared/scheduler/tick-http-handler.ts";
import { startTestControlPlane, type TestControlPlane, TOKEN } from "../control-plane/support.ts";
import { httpRequest, jsonOf } from "../support/http-request.ts";
import { type CliRun, runLeviathan } from "../support/run-leviathan.ts";
import { silentLogger } from "../support/store/store-helpers.ts";
import { oneTaskBacklog, targetConfigText } from "../support/target-config.ts";
import { tempDir } from "../support/temp-dir.ts";
import { type Doc, parseDocs, validateManifest } from "./manifest-models.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TARGETS = Array.from({ length: 12 }, (_, i) => `team-${String(i).padStart(2, "0")}`);
const OWNER = "acme";

function leviathan(args: string[]): Promise<CliRun> {
  return runLeviathan(args, { unset: ["LEVIATHAN_CONFIG"], cwd: ROOT, timeoutMs: 60_000 });
}

let forge: LocalForge;
let forgeToken: string;
let cp: TestControlPlane;
let configDir: string;
let docs: Doc[];
let render: { code: number; stdout: string; stderr: string };

beforeAll(async () => {
  const scratch = tempDir("leviathan-many-");
  forgeToken = `forge-${randomBytes(8).toString("hex")}`;
  forge = await startLocalForge({ root: join(scratch, "forge"), token: forgeToken });
  configDir = join(scratch, "configs");
  await mkdir(configDir);
  for (const target of TARGETS) {
    const source = join(scratch, "sources", target);
    await mkdir(join(source, ".leviathan"), { recursive: true });
    await writeFile(
      join(source, ".leviathan", "backlog.yaml"),
      oneTaskBacklog(`task-${target}`, false),
    );
    await forge.createRepository(OWNER, target, { fromDir: source });
    await writeFile(
      join(configDir, `${target}.yaml`),
      targetConfigText(target, forge, OWNER, target),
    );
  }
  cp = await startTestControlPlane();
  render = await leviathan(["render", "knative", "--config-dir", configDir]);
  docs = parseDocs(render.stdout, "stdout");
}, 120_000);

afterAll(async () => {
  await cp?.cleanup();
  await forge?.close();
});

describe("render knative --config-dir", () => {
  it("renders valid objects: one ConfigMap with every file, one PingSource per target", () => {
    expect(render.stderr).toBe("");
    expect(render.code).toBe(0);
    for (const doc of docs) expect(() => validateManifest(doc), doc.kind).not.toThrow();
    const pings = docs.filter((d) => d.kind === "PingSource");
    expect(pings.map((p) => p.metadata.name)).toEqual(TARGETS.map((t) => `leviathan-tick-${t}`));
    for (const [i, p] of pings.entries()) {
      expect(JSON.parse(p.spec.data)).toEqual({ target: TARGETS[i] });
      expect(p.spec.sink.ref).toMatchObject({ kind: "Service", name: "leviathan-tick" });
    }
    const maps = docs.filter((d) => d.kind === "ConfigMap");
    expect(maps).toHaveLength(1);
    expect(maps[0]!.metadata.name).toBe("leviathan-autonomy");
    expect(Object.keys(maps[0]!.data).sort()).toEqual(TARGETS.map((t) => `${t}.yaml`));
    for (const [name, text] of Object.entries(maps[0]!.data as Record<string, string>)) {
      const config = parseConfig(text, name);
      expect(config.target_id).toBe(name.replace(/\.yaml$/, ""));
      expect(config.worker_url).toBe("http://leviathan-worker.leviathan.svc.cluster.local");
    }
  });

  it("spreads the */5 schedules: at most ceil(12/5) = 3 targets ping in any minute", () => {
    const counts = Array.from({ length: 60 }, () => 0);
    const pings = docs.filter((d) => d.kind === "PingSource");
    for (const p of pings) {
      const minutes = minutesOf(p.spec.schedule);
      expect(minutes).toHaveLength(12);
      for (const m of minutes) counts[m]!++;
    }
    expect(Math.max(...counts)).toBe(3);
    expect(counts.filter((c) => c > 0)).toHaveLength(60);
  });

  it("points LEVIATHAN_CONFIG of the tick and the worker into the mounted folder", () => {
    for (const service of docs.filter((d) => d.apiVersion === "serving.knative.dev/v1")) {
      const env = service.spec.template.spec.containers[0].env as Doc[];
      const config = env.find((e) => e.name === "LEVIATHAN_CONFIG")?.value;
      expect(config).toBe(`${CONFIG_MOUNT_DIR}/${TARGETS[0]}.yaml`);
    }
  });

  it("refuses a directory with a problem, printing file:line and nothing on stdout", async () => {
    const bad = tempDir("leviathan-bad-configs-");
    const text = targetConfigText("web", forge, OWNER, "web");
    await writeFile(join(bad, "web.yaml"), text);
    await writeFile(join(bad, "api.yaml"), text.replace("target_id: web", "target_id: api"));
    const run = await leviathan(["render", "knative", "--config-dir", bad]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain(
      `${bad}/web.yaml:2: target_repo_url names the same repository as ${bad}/api.yaml:2`,
    );
    const lint = await leviathan(["targets", "lint", bad]);
    expect(lint.code).toBe(1);
    expect(lint.stdout).toContain(`${bad}/web.yaml:2: target_repo_url`);
    const good = await leviathan(["targets", "lint", configDir]);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain("OK, 12 targets");
  });
});

describe("a ping per target through the tick handler", () => {
  let tick: ServedFunction;
  beforeAll(async () => {
    // The ConfigMap as the tick's pod sees it: every file in one folder.
    const mounted = tempDir("leviathan-mounted-");
    const map = docs.find((d) => d.kind === "ConfigMap")!;
    for (const [name, text] of Object.entries(map.data as Record<string, string>)) {
      await writeFile(join(mounted, name), text);
    }
    const env = parseTickEnv(
      {
        LEVIATHAN_CONFIG: join(mounted, `${TARGETS[0]}.yaml`),
        LEVIATHAN_HOME: mounted,
        CONTROL_PLANE_URL: cp.url,
        CONTROL_PLANE_TOKEN: TOKEN,
        GITHUB_TOKEN: forgeToken,
        LEVIATHAN_JOB_RUNNER: "process",
      },
      { requireGateToken: true },
    );
    // The rendered files point at the cluster's worker; these ticks never dispatch.
    const composed = composeTick(env, { createForge: forgeFromConfig, logger: silentLogger });
    tick = await serveFunction(
      "tick",
      createTickHandler({ tick: composed, gateToken: TOKEN, logger: silentLogger }),
    );
  });
  afterAll(async () => {
    await tick?.close();
  });

  it("ticks each target from its own PingSource's data, against its own repository", async () => {
    const pings = docs.filter((d) => d.kind === "PingSource");
    const ids = new Map<string, string>();
    for (const p of pings) {
      const id = randomUUID();
      ids.set(p.metadata.name, id);
      const reply = await httpRequest(`${tick.url}/`, {
        method: "POST",
        headers: {
          "User-Agent": "Go-http-client/1.1",
          "Ce-Id": id,
          "Ce-Source": `/apis/v1/namespaces/leviathan/pingsources/${p.metadata.name}`,
          "Ce-Specversion": "1.0",
          "Ce-Time": new Date().toISOString(),
          "Ce-Type": "dev.knative.sources.ping",
          "Content-Type": p.spec.contentType,
          "Content-Length": Buffer.byteLength(p.spec.data),
        },
        body: p.spec.data,
      });
      expect(reply.status, p.metadata.name).toBe(200);
      const target = JSON.parse(p.spec.data).target as string;
      // Its own backlog's only task, read from its own repository.
      expect(jsonOf(reply)).toMatchObject({
        action: "skip",
        reason: "no_ready_task",
        details: { ineligible: [{ task_id: `task-${target}`, reason: "not_ready" }] },
      });
    }
    const client = new ControlPlaneClient({ url: cp.url, token: TOKEN });
    const records = (await client.getEvents(0, 10_000)).records;
    for (const [name, id] of ids) {
      const decided = records.find(
        (r) => r.event.event_type === "scheduler.decided" && r.event.payload.tick_id === id,
      );
      expect(decided?.target).toBe(name.replace(/^leviathan-tick-/, ""));
    }
    // Each repository was asked for its own open PRs and backlog.
    for (const target of TARGETS) {
      const asked = forge.requests.map((r) => decodeURIComponent(r.path));
      const repo = `/api/v3/repos/${OWNER}/${target}`;
      expect(asked.some((path) => path.startsWith(`${repo}/pulls`))).toBe(true);
      expect(
        asked.some((path) => path.startsWith(`${repo}/contents/.leviathan/backlog.yaml`)),
      ).toBe(true);
    }
  });
});
