import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as functions from "@google-cloud/functions-framework";
import { getTestServer } from "@google-cloud/functions-framework/testing";
import { KubeConfig } from "@kubernetes/client-node";
import { CloudEvent, HTTP } from "cloudevents";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobNameFor } from "../../shared/events/ids.ts";
import type { AttemptRequest } from "../../shared/events/types.ts";
import { createKubernetesJobRunner } from "../../shared/jobs/kubernetes/kubernetes-job-runner.ts";
import type { ProcessJobState } from "../../shared/jobs/process/job-state-file.ts";
import { createProcessJobRunner } from "../../shared/jobs/process/process-job-runner.ts";
import type { JobRunner } from "../../shared/jobs/types.ts";
import { createLogger } from "../../shared/log/logger.ts";
import {
  attemptRequestedCloudEvent,
  dispatchAttempt,
} from "../../shared/scheduler/dispatch-attempt.ts";
import { createWorkerHandler } from "../../shared/worker/worker-http-handler.ts";
import type { TestControlPlane } from "../control-plane/support.ts";
import { attemptRequest } from "../jobs/job-fixtures.ts";
import { type FakeKubernetes, startFakeKubernetes } from "../support/fake-kubernetes.ts";
import {
  binary,
  deadPort,
  GITHUB_TOKEN,
  killJobs,
  recordFinished,
  recordRequested,
  send,
  startWorkerControlPlane,
  structured,
  TOKEN,
  writeConfigs,
} from "./worker-support.ts";

const FAKE_ATTEMPT = fileURLToPath(new URL("../jobs/fake-attempt.mjs", import.meta.url));

let dir: string;
let home: string;
let configPath: string;
let fake: FakeKubernetes;
let cp: TestControlPlane;
const servers: Server[] = [];
const replies: string[] = [];

/**
 * The worker function registered under its own name and served by the framework on loopback;
 * it asks the test's control plane unless `env` says otherwise.
 */
async function serveWorker(
  name: string,
  jobs: (namespace: string) => JobRunner,
  env: NodeJS.ProcessEnv = {},
): Promise<string> {
  functions.http(
    name,
    createWorkerHandler({
      env: {
        CONTROL_PLANE_TOKEN: TOKEN,
        GITHUB_TOKEN,
        LEVIATHAN_CONFIG: configPath,
        CONTROL_PLANE_URL: cp.url,
        // An empty home: no control-plane.url there unless a test writes one.
        LEVIATHAN_HOME: join(dir, "worker-home"),
        ...env,
      },
      jobs,
      logger: createLogger("worker", { level: "silent" }),
    }),
  );
  const server = getTestServer(name);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

let processJobs: JobRunner;
let processWorker: string;
let deadKubernetesWorker: string;
let fakeKubernetesWorker: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "leviathan-worker-http-"));
  home = join(dir, "home");
  cp = await startWorkerControlPlane();
  configPath = await writeConfigs(dir);
  await writeFile(join(dirname(configPath), "broken.yaml"), "target_id: radix\nmax_open_prs: [\n");
  processJobs = createProcessJobRunner({
    home,
    command: [process.execPath, FAKE_ATTEMPT],
    secrets: { GITHUB_TOKEN },
  });
  processWorker = await serveWorker("worker-process", () => processJobs);

  const dead = new KubeConfig();
  dead.loadFromString(
    `apiVersion: v1\nkind: Config\nclusters: [{name: dead, cluster: {server: "http://127.0.0.1:${await deadPort()}", insecure-skip-tls-verify: true}}]\n` +
      "users: [{name: u, user: {token: dead-token-123456}}]\ncontexts: [{name: dead, context: {cluster: dead, user: u}}]\ncurrent-context: dead\n",
  );
  deadKubernetesWorker = await serveWorker("worker-dead-kubernetes", (namespace) =>
    createKubernetesJobRunner({ kubeConfig: dead, namespace, attempts: 2, retryDelayMs: 10 }),
  );

  fake = await startFakeKubernetes();
  fakeKubernetesWorker = await serveWorker("worker-fake-kubernetes", (namespace) =>
    createKubernetesJobRunner({ kubeConfig: fake.kubeConfig(), namespace, retryDelayMs: 10 }),
  );
});

afterAll(async () => {
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  await fake.close();
  await cp.cleanup();
  await killJobs(home);
  await rm(dir, { recursive: true, force: true });
  // No reply, whatever it said, carried a token.
  for (const reply of replies) {
    expect(reply).not.toContain(TOKEN);
    expect(reply).not.toContain(GITHUB_TOKEN);
  }
});

async function post(
  url: string,
  message: Parameters<typeof send>[1],
  authorization: string | null = `Bearer ${TOKEN}`,
) {
  const reply = await send(url, message, authorization);
  replies.push(JSON.stringify(reply.body));
  return reply;
}

/** An attempt.requested CloudEvent as the tick builds it, with its data replaced. */
function withData(data: unknown, type = "dev.leviathan.attempt.requested"): CloudEvent<unknown> {
  return new CloudEvent<unknown>({
    id: "e-1",
    source: "/leviathan/radix/scheduler",
    type,
    datacontenttype: "application/json",
    data,
  });
}

describe("worker over HTTP", () => {
  it("answers GET /health without a token", async () => {
    const response = await fetch(`${processWorker}health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  it("creates the Job from a binary CloudEvent, and a redelivery (structured) is created:false", async () => {
    const request = attemptRequest("task-binary");
    await recordRequested(cp.url, request);
    const event = attemptRequestedCloudEvent(request);
    const first = await post(processWorker, binary(event));
    expect(first).toEqual({
      status: 200,
      body: { job_name: jobNameFor(request.attempt_id), created: true },
    });
    const again = await post(processWorker, structured(event));
    expect(again).toEqual({
      status: 200,
      body: { job_name: jobNameFor(request.attempt_id), created: false },
    });

    const state = JSON.parse(
      await readFile(join(home, "jobs", `${jobNameFor(request.attempt_id)}.json`), "utf8"),
    ) as ProcessJobState;
    expect(state.attempt_id).toBe(request.attempt_id);
    expect(state.labels["leviathan.dev/task"]).toBe("task-binary");
  });

  it("accepts what the tick's own dispatcher sends", async () => {
    const request = attemptRequest("task-dispatched", 2);
    await recordRequested(cp.url, request);
    await expect(
      dispatchAttempt(request, { sink: processWorker, token: TOKEN, attempts: 1 }),
    ).resolves.toEqual({
      job_name: jobNameFor(request.attempt_id),
      created: true,
    });
  });

  it("401 without the bearer token or with a wrong one; the scheme is case-insensitive", async () => {
    const request = attemptRequest("task-auth");
    await recordRequested(cp.url, request);
    const message = binary(attemptRequestedCloudEvent(request));
    for (const authorization of [null, "Bearer wrong-token", `Basic ${TOKEN}`, TOKEN, "Bearer"]) {
      const reply = await post(processWorker, message, authorization);
      expect(reply.status).toBe(401);
    }
    expect((await post(processWorker, message, `bearer ${TOKEN}`)).status).toBe(200);
  });

  it("400 for another CloudEvent type, a body that is no CloudEvent, or a batch", async () => {
    const other = withData(attemptRequest("task-type"), "dev.leviathan.attempt.started");
    const wrongType = await post(processWorker, binary(other));
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error).toMatch(/is not dev\.leviathan\.attempt\.requested/);

    const plain = await post(processWorker, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify(attemptRequest("task-plain")),
    });
    expect(plain.status).toBe(400);
    expect(plain.body.error).toMatch(/not a CloudEvent/);

    const batch = await post(processWorker, {
      headers: { "content-type": "application/cloudevents-batch+json" },
      body: JSON.stringify([
        JSON.parse(
          HTTP.structured(attemptRequestedCloudEvent(attemptRequest("task-batch"))).body as string,
        ),
      ]),
    });
    expect(batch.status).toBe(400);

    const broken = await post(processWorker, {
      headers: { "content-type": "application/cloudevents+json" },
      body: '{"specversion": "1.0", "id": ',
    });
    expect(broken.status).toBe(400);
  });

  it.each<[string, (r: AttemptRequest) => unknown, string]>([
    ["a missing task_id", ({ task_id: _t, ...rest }) => rest, "data.task_id"],
    ["attempt_number 0", (r) => ({ ...r, attempt_number: 0 }), "data.attempt_number"],
    [
      "an attempt_id not derived from target, task and number",
      (r) => ({ ...r, attempt_id: "attempt-task-1-deadbeef" }),
      "data.attempt_id",
    ],
    ["a config path climbing out", (r) => ({ ...r, config: "../dev.yaml" }), "data.config"],
    ["an absolute config path", (r) => ({ ...r, config: "/etc/passwd" }), "data.config"],
    ["a config in a subfolder", (r) => ({ ...r, config: "sub/dev.yaml" }), "data.config"],
    ["a hidden config file", (r) => ({ ...r, config: ".dev.yaml" }), "data.config"],
    ["a config that is not .yaml", (r) => ({ ...r, config: "dev.json" }), "data.config"],
    ["data that is not an object", () => ["task-1"], "data"],
  ])("400 for %s, naming the field", async (_what, edit, path) => {
    const reply = await post(processWorker, binary(withData(edit(attemptRequest("task-bad")))));
    expect(reply.status).toBe(400);
    expect((reply.body.detail as Array<{ path: string }>).map((d) => d.path)).toContain(path);
  });

  it("400 when the named config is for another target", async () => {
    const reply = await post(
      processWorker,
      binary(withData({ ...attemptRequest("task-1"), config: "other.yaml" })),
    );
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatch(/other\.yaml is for target other/);
  });

  it("404 for a config file that is not there; 503 for one that is broken", async () => {
    const missing = await post(
      processWorker,
      binary(withData({ ...attemptRequest("task-1"), config: "nope.yaml" })),
    );
    expect(missing.status).toBe(404);
    const broken = await post(
      processWorker,
      binary(withData({ ...attemptRequest("task-1"), config: "broken.yaml" })),
    );
    expect(broken.status).toBe(503);
    expect(broken.body.error).toContain("broken.yaml");
  });

  it("503 when Kubernetes cannot be reached", async () => {
    const request = attemptRequest("task-k8s");
    await recordRequested(cp.url, request);
    const reply = await post(deadKubernetesWorker, binary(attemptRequestedCloudEvent(request)));
    expect(reply.status).toBe(503);
    expect(reply.body.error).toMatch(/Kubernetes API at http:\/\/127\.0\.0\.1:\d+ unavailable/);
  });

  it("creates the Job in the config's namespace through the Kubernetes API", async () => {
    const request = attemptRequest("task-k8s");
    await recordRequested(cp.url, request);
    const event = attemptRequestedCloudEvent(request);
    expect((await post(fakeKubernetesWorker, binary(event))).body).toEqual({
      job_name: jobNameFor(request.attempt_id),
      created: true,
    });
    expect((await post(fakeKubernetesWorker, structured(event))).body).toEqual({
      job_name: jobNameFor(request.attempt_id),
      created: false,
    });
    expect(fake.jobNames("leviathan")).toEqual([jobNameFor(request.attempt_id)]);
    // The attempt token went into the Job's own Secret, next to it.
    expect(fake.secretNames("leviathan")).toEqual([`${jobNameFor(request.attempt_id)}-token`]);
    type Phase = { name: string; env: Array<Record<string, unknown>> };
    const stored = fake.job(jobNameFor(request.attempt_id)) as {
      spec: { template: { spec: { initContainers: Phase[]; containers: Phase[] } } };
    };
    const { initContainers, containers } = stored.spec.template.spec;
    // Paths of Secret files, never values, go into the Job; `execute` gets not even a path.
    expect(JSON.stringify(stored)).not.toContain(TOKEN);
    for (const phase of [...initContainers, ...containers]) {
      expect(
        phase.env.find((e) => e.name === "CONTROL_PLANE_TOKEN"),
        phase.name,
      ).toBeUndefined();
      const file = phase.env.find((e) => e.name === "CONTROL_PLANE_TOKEN_FILE");
      if (phase.name === "execute") expect(file).toBeUndefined();
      else expect(file, phase.name).toHaveProperty("value");
    }

    const other = { ...attemptRequest("task-k8s", 1, "other"), config: "other.yaml" };
    await recordRequested(cp.url, other);
    const otherReply = await post(fakeKubernetesWorker, binary(attemptRequestedCloudEvent(other)));
    expect(otherReply.status).toBe(200);
    expect(fake.jobNames("elsewhere")).toEqual([jobNameFor(other.attempt_id)]);
  });
});

/** A loopback server that answers every request with `status`, counting them. */
async function answering(status: number): Promise<{ url: string; hits(): number }> {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify({ detail: "the store is broken" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits };
}

function jobStateFile(request: AttemptRequest): string {
  return join(home, "jobs", `${jobNameFor(request.attempt_id)}.json`);
}

describe("the worker makes Jobs only for attempts the control plane recorded", () => {
  it("403 and no Job for an attempt that was never recorded (process runner: no state file)", async () => {
    const request = attemptRequest("task-unrecorded");
    const reply = await post(processWorker, binary(attemptRequestedCloudEvent(request)));
    expect(reply.status).toBe(403);
    expect(reply.body.error).toMatch(/attempt attempt-task-unrecorded-\w+ is not recorded/);
    expect(existsSync(jobStateFile(request))).toBe(false);
  });

  it("403 and no Job request to Kubernetes for an unrecorded attempt", async () => {
    const before = fake.requests.length;
    const request = attemptRequest("task-unrecorded-k8s");
    const reply = await post(fakeKubernetesWorker, binary(attemptRequestedCloudEvent(request)));
    expect(reply.status).toBe(403);
    expect(fake.requests.slice(before)).toEqual([]);
    expect(fake.jobNames("leviathan")).not.toContain(jobNameFor(request.attempt_id));
  });

  it.each<[string, Partial<AttemptRequest>, RegExp]>([
    ["another task", { task_id: "task-elsewhere" }, /task_id "task-elsewhere"/],
    ["another attempt number", { attempt_number: 2 }, /attempt_number 2/],
    ["another target", { target_id: "other", config: "other.yaml" }, /target_id "other"/],
  ])("403 and no Job when the record names %s", async (_what, recorded, message) => {
    const request = attemptRequest(`task-mismatch-${Object.keys(recorded)[0]}`);
    await recordRequested(cp.url, request, recorded);
    const reply = await post(processWorker, binary(attemptRequestedCloudEvent(request)));
    expect(reply.status).toBe(403);
    expect(reply.body.error).toMatch(message);
    expect(existsSync(jobStateFile(request))).toBe(false);
  });

  it.each(["attempt.succeeded", "attempt.failed"] as const)(
    "403 and no Job for a replayed request of an attempt that has %s",
    async (type) => {
      const request = attemptRequest(`task-finished-${type.split(".")[1]}`);
      await recordRequested(cp.url, request);
      await recordFinished(cp.url, request, type);
      const reply = await post(processWorker, binary(attemptRequestedCloudEvent(request)));
      expect(reply.status).toBe(403);
      expect(reply.body.error).toMatch(
        /has already (succeeded|failed); a finished attempt is not run/,
      );
      expect(existsSync(jobStateFile(request))).toBe(false);
    },
  );

  it("a redelivery while the attempt runs is still answered created:false", async () => {
    const request = attemptRequest("task-redelivered");
    await recordRequested(cp.url, request);
    const event = attemptRequestedCloudEvent(request);
    expect((await post(processWorker, binary(event))).body.created).toBe(true);
    const reply = await post(processWorker, structured(event));
    expect(reply).toEqual({
      status: 200,
      body: { job_name: jobNameFor(request.attempt_id), created: false },
    });
  });

  it("503 and no Job when the control plane is down", async () => {
    const down = await serveWorker("worker-control-plane-down", () => processJobs, {
      CONTROL_PLANE_URL: `http://127.0.0.1:${await deadPort()}`,
    });
    const request = attemptRequest("task-cp-down");
    await recordRequested(cp.url, request);
    const reply = await post(down, binary(attemptRequestedCloudEvent(request)));
    expect(reply.status).toBe(503);
    expect(reply.body.error).toMatch(/cannot ask the control plane about attempt .*no Job made/);
    expect(existsSync(jobStateFile(request))).toBe(false);
  });

  it("503 after a bounded number of tries when the control plane keeps answering 500", async () => {
    const broken = await answering(500);
    const worker = await serveWorker("worker-control-plane-500", () => processJobs, {
      CONTROL_PLANE_URL: broken.url,
    });
    const request = attemptRequest("task-cp-500");
    const reply = await post(worker, binary(attemptRequestedCloudEvent(request)));
    expect(reply.status).toBe(503);
    expect(reply.body.error).toMatch(/HTTP 500/);
    expect(broken.hits()).toBe(3);
    expect(existsSync(jobStateFile(request))).toBe(false);
  });

  it("503 within a few seconds when the control plane accepts but never answers", async () => {
    const silent = createServer(() => {
      // Never answers: only the worker's timeout ends the wait.
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    servers.push(silent);
    const worker = await serveWorker("worker-control-plane-silent", () => processJobs, {
      CONTROL_PLANE_URL: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
    });
    const started = performance.now();
    const reply = await post(
      worker,
      binary(attemptRequestedCloudEvent(attemptRequest("task-cp-silent"))),
    );
    const seconds = (performance.now() - started) / 1000;
    silent.closeAllConnections();
    expect(reply.status).toBe(503);
    expect(reply.body.error).toMatch(/timed out/);
    expect(seconds).toBeLessThan(8);
  });

  it("503 when the control plane refuses the worker's own token", async () => {
    const other = "another-worker-token-0123456789";
    const worker = await serveWorker("worker-wrong-token", () => processJobs, {
      CONTROL_PLANE_TOKEN: other,
    });
    const request = attemptRequest("task-wrong-token");
    await recordRequested(cp.url, request);
    const reply = await post(
      worker,
      binary(attemptRequestedCloudEvent(request)),
      `Bearer ${other}`,
    );
    expect(reply.status).toBe(503);
    expect(reply.body.error).toMatch(/401/);
    expect(JSON.stringify(reply.body)).not.toContain(other);
    expect(existsSync(jobStateFile(request))).toBe(false);
  });

  it("finds the control plane in <LEVIATHAN_HOME>/control-plane.url, then the config's control_plane_url", async () => {
    const workerHome = join(dir, "home-with-url");
    await mkdir(workerHome, { recursive: true });
    await writeFile(join(workerHome, "control-plane.url"), `${cp.url}\n`);
    // As local mode runs it: no CONTROL_PLANE_URL, the URL in the home's file.
    const local = await serveWorker("worker-home-url", () => processJobs, {
      CONTROL_PLANE_URL: undefined,
      LEVIATHAN_HOME: workerHome,
    });
    const request = attemptRequest("task-home-url");
    await recordRequested(cp.url, request);
    expect((await post(local, binary(attemptRequestedCloudEvent(request)))).status).toBe(200);

    // No variable, no file: the requested config's control_plane_url decides.
    const bare = await serveWorker("worker-config-url", () => processJobs, {
      CONTROL_PLANE_URL: undefined,
    });
    await writeFile(
      join(dirname(configPath), "live.yaml"),
      (await readFile(configPath, "utf8")).replace(
        /^control_plane_url: .*$/m,
        `control_plane_url: ${cp.url}`,
      ),
    );
    const live = { ...attemptRequest("task-config-url"), config: "live.yaml" };
    await recordRequested(cp.url, live);
    expect((await post(bare, binary(attemptRequestedCloudEvent(live)))).status).toBe(200);
    // dev.yaml's control_plane_url is a dead port: the same worker cannot ask, so 503.
    const dead = attemptRequest("task-config-url-dead");
    await recordRequested(cp.url, dead);
    expect((await post(bare, binary(attemptRequestedCloudEvent(dead)))).status).toBe(503);
  });
});
