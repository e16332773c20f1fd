import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
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
import { attemptRequest } from "../jobs/job-fixtures.ts";
import { type FakeKubernetes, startFakeKubernetes } from "../support/fake-kubernetes.ts";
import {
  binary,
  deadPort,
  GITHUB_TOKEN,
  killJobs,
  send,
  structured,
  TOKEN,
  writeConfigs,
} from "./worker-support.ts";

const FAKE_ATTEMPT = fileURLToPath(new URL("../jobs/fake-attempt.mjs", import.meta.url));

let dir: string;
let home: string;
let configPath: string;
let fake: FakeKubernetes;
const servers: Server[] = [];
const replies: string[] = [];

/** The worker function registered under its own name and served by the framework on loopback. */
async function serveWorker(name: string, jobs: (namespace: string) => JobRunner): Promise<string> {
  functions.http(
    name,
    createWorkerHandler({
      env: { CONTROL_PLANE_TOKEN: TOKEN, GITHUB_TOKEN, LEVIATHAN_CONFIG: configPath },
      jobs,
      logger: createLogger("worker", { level: "silent" }),
    }),
  );
  const server = getTestServer(name);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

let processWorker: string;
let deadKubernetesWorker: string;
let fakeKubernetesWorker: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "leviathan-worker-http-"));
  home = join(dir, "home");
  configPath = await writeConfigs(dir);
  await writeFile(join(dirname(configPath), "broken.yaml"), "target_id: radix\nmax_open_prs: [\n");
  const processJobs = createProcessJobRunner({
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
    await expect(
      dispatchAttempt(request, { sink: processWorker, token: TOKEN, attempts: 1 }),
    ).resolves.toEqual({
      job_name: jobNameFor(request.attempt_id),
      created: true,
    });
  });

  it("401 without the bearer token or with a wrong one; the scheme is case-insensitive", async () => {
    const message = binary(attemptRequestedCloudEvent(attemptRequest("task-auth")));
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
    const reply = await post(
      deadKubernetesWorker,
      binary(attemptRequestedCloudEvent(attemptRequest("task-k8s"))),
    );
    expect(reply.status).toBe(503);
    expect(reply.body.error).toMatch(/Kubernetes API at http:\/\/127\.0\.0\.1:\d+ unavailable/);
  });

  it("creates the Job in the config's namespace through the Kubernetes API", async () => {
    const request = attemptRequest("task-k8s");
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

    const other = attemptRequest("task-k8s", 1, "other");
    const otherReply = await post(
      fakeKubernetesWorker,
      binary(attemptRequestedCloudEvent({ ...other, config: "other.yaml" })),
    );
    expect(otherReply.status).toBe(200);
    expect(fake.jobNames("elsewhere")).toEqual([jobNameFor(other.attempt_id)]);
  });
});
