import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { toJobManifest } from "../../shared/jobs/kubernetes/job-manifest.ts";
import { createKubernetesJobRunner } from "../../shared/jobs/kubernetes/kubernetes-job-runner.ts";
import { JobRunnerUnavailableError } from "../../shared/jobs/types.ts";
import { type FakeKubernetes, startFakeKubernetes } from "../support/fake-kubernetes.ts";
import { attemptJob } from "./job-fixtures.ts";

let fake: FakeKubernetes;

beforeEach(async () => {
  fake = await startFakeKubernetes();
});
afterEach(async () => {
  await fake.close();
});

function runner(overrides: { attempts?: number; timeoutMs?: number } = {}) {
  return createKubernetesJobRunner({
    kubeConfig: fake.kubeConfig(),
    namespace: "leviathan",
    retryDelayMs: 10,
    ...overrides,
  });
}

describe("Kubernetes job runner against the API server", () => {
  it("creates the Job from the manifest builder; the server validates and stores it", async () => {
    const { job } = attemptJob();
    await expect(runner().submit(job)).resolves.toEqual({ created: true });

    const posts = fake.requests.filter((r) => r.method === "POST");
    expect(posts).toHaveLength(1);
    expect(posts[0]).toMatchObject({
      path: "/apis/batch/v1/namespaces/leviathan/jobs",
      authorized: true,
    });
    // What went over the wire is exactly the builder's manifest.
    expect(posts[0]!.body).toEqual(JSON.parse(JSON.stringify(toJobManifest(job))));
    const stored = fake.job(job.name)!;
    expect(stored.metadata).toMatchObject({
      name: job.name,
      namespace: "leviathan",
      labels: job.labels,
    });
    expect((stored.metadata as { uid?: string }).uid).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("the fake refuses an invalid Job with 422, as the API server does", async () => {
    const { job } = attemptJob();
    const manifest = toJobManifest(job) as { spec: { backoffLimit: unknown } };
    manifest.spec.backoffLimit = "zero";
    const response = await fetch(`${fake.url}/apis/batch/v1/namespaces/leviathan/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${fake.token}`, "content-type": "application/json" },
      body: JSON.stringify(manifest),
    });
    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({ kind: "Status", reason: "Invalid", code: 422 });
    expect(fake.jobNames()).toEqual([]);
  });

  it("the fake answers as the API server does: 401, 404 NotFound, 400 on a bad selector, DELETE", async () => {
    const jobs = `${fake.url}/apis/batch/v1/namespaces/leviathan/jobs`;
    const auth = { authorization: `Bearer ${fake.token}` };
    expect((await fetch(jobs)).status).toBe(401);
    const missing = await fetch(`${jobs}/nope`, { headers: auth });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ kind: "Status", reason: "NotFound", code: 404 });
    expect(
      (await fetch(`${jobs}?labelSelector=${encodeURIComponent("a in (b)")}`, { headers: auth }))
        .status,
    ).toBe(400);

    const { job } = attemptJob();
    const elsewhere = await fetch(`${fake.url}/apis/batch/v1/namespaces/other/jobs`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify(toJobManifest(job)),
    });
    expect(elsewhere.status).toBe(400);

    await runner().submit(job);
    const deleted = await fetch(`${jobs}/${job.name}`, { method: "DELETE", headers: auth });
    expect(deleted.status).toBe(200);
    expect(await deleted.json()).toMatchObject({ kind: "Status", status: "Success" });
    expect((await fetch(`${jobs}/${job.name}`, { headers: auth })).status).toBe(404);
    expect(await runner().status(job.name)).toEqual({ name: job.name, phase: "missing" });
  });

  it("a repeat submit is success without a second Job (409 AlreadyExists)", async () => {
    const { job } = attemptJob();
    const jobs = runner();
    await jobs.submit(job);
    await expect(jobs.submit(job)).resolves.toEqual({ created: false });
    expect(fake.jobNames()).toEqual([job.name]);
    expect(fake.requests.filter((r) => r.method === "POST")).toHaveLength(2);
  });

  it("maps the Job's status: missing, pending, running, succeeded, failed, deadline exceeded", async () => {
    const { job, request } = attemptJob();
    const jobs = runner();
    expect(await jobs.status(job.name)).toEqual({ name: job.name, phase: "missing" });

    await jobs.submit(job);
    expect(await jobs.status(job.name)).toMatchObject({
      phase: "pending",
      attemptId: request.attempt_id,
    });

    fake.setJobState(job.name, "running");
    const running = await jobs.status(job.name);
    expect(running).toMatchObject({ phase: "running", attemptId: request.attempt_id });
    expect(running.startedAt).toMatch(/^\d{4}-\d\d-\d\dT/);

    fake.setJobState(job.name, "succeeded");
    const succeeded = await jobs.status(job.name);
    expect(succeeded).toMatchObject({ phase: "succeeded" });
    expect(succeeded.finishedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(succeeded.reason).toBeUndefined();

    fake.setJobState(job.name, "failed");
    expect(await jobs.status(job.name)).toMatchObject({
      phase: "failed",
      reason: "BackoffLimitExceeded",
    });

    fake.setJobState(job.name, "deadline-exceeded");
    expect(await jobs.status(job.name)).toMatchObject({
      phase: "failed",
      reason: "DeadlineExceeded",
    });
  });

  it("lists one target's Jobs by its label", async () => {
    const jobs = runner();
    const a1 = attemptJob({ taskId: "task-1" }).job;
    const a2 = attemptJob({ taskId: "task-2" }).job;
    const other = attemptJob({ config: { target_id: "other" } }).job;
    for (const job of [a1, a2, other]) await jobs.submit(job);
    fake.setJobState(a2.name, "running");

    const listed = await jobs.list("radix");
    expect(listed.map((j) => [j.name, j.phase]).sort()).toEqual(
      [
        [a1.name, "pending"],
        [a2.name, "running"],
      ].sort(),
    );
    const listCall = fake.requests.find((r) => r.method === "GET" && !r.path.includes("/jobs/"));
    expect(listCall?.query.labelSelector).toBe("leviathan.dev/target=radix");
    expect(await jobs.list("nobody")).toEqual([]);
  });

  it("retries 5xx answers and then succeeds", async () => {
    const { job } = attemptJob();
    fake.failNext(2, 503);
    await expect(runner({ attempts: 3 }).submit(job)).resolves.toEqual({ created: true });
    expect(fake.requests.filter((r) => r.method === "POST")).toHaveLength(3);
    expect(fake.jobNames()).toEqual([job.name]);
  });

  it("gives up after bounded retries on 5xx with JobRunnerUnavailableError", async () => {
    fake.failNext(10, 500);
    await expect(runner({ attempts: 2 }).status("worker-x")).rejects.toBeInstanceOf(
      JobRunnerUnavailableError,
    );
    expect(fake.requests).toHaveLength(2);
  });

  it("a refusal (401) is an error at once, not unavailability, and does not leak the token", async () => {
    const kubeConfig = fake.kubeConfig();
    const wrong = "wrong-token-0123456789";
    kubeConfig.users = kubeConfig.users.map((u) => ({ ...u, token: wrong }));
    const jobs = createKubernetesJobRunner({
      kubeConfig,
      namespace: "leviathan",
      retryDelayMs: 10,
    });
    const error = await jobs.submit(attemptJob().job).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(JobRunnerUnavailableError);
    expect(error!.message).toContain("401");
    expect(error!.message).not.toContain(wrong);
    expect(fake.requests).toHaveLength(1);
  });

  it("an API server that is down is JobRunnerUnavailableError for every call", async () => {
    const jobs = runner({ attempts: 2 });
    await fake.close();
    const { job } = attemptJob();
    for (const call of [
      () => jobs.submit(job),
      () => jobs.status(job.name),
      () => jobs.list("radix"),
    ]) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error).toBeInstanceOf(JobRunnerUnavailableError);
      expect(error!.message).toContain(fake.url);
      expect(error!.message).not.toContain(fake.token);
    }
    fake = await startFakeKubernetes();
  });

  it("an API server that never answers times out into JobRunnerUnavailableError", async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as { port: number }).port;
    const kubeConfig = fake.kubeConfig();
    kubeConfig.clusters = kubeConfig.clusters.map((c) => ({
      ...c,
      server: `http://127.0.0.1:${port}`,
    }));
    try {
      const jobs = createKubernetesJobRunner({
        kubeConfig,
        namespace: "leviathan",
        timeoutMs: 200,
        attempts: 2,
        retryDelayMs: 10,
      });
      const error = await jobs.status("worker-x").then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error).toBeInstanceOf(JobRunnerUnavailableError);
      expect(error!.message).toContain("timed out");
      expect(sockets.size).toBe(2);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("without a kubeConfig it loads KUBECONFIG, as outside a cluster", async () => {
    const dir = await mkdtemp(join(tmpdir(), "leviathan-kubeconfig-"));
    const saved = { KUBECONFIG: process.env.KUBECONFIG, HOST: process.env.KUBERNETES_SERVICE_HOST };
    try {
      await fake.writeKubeconfig(join(dir, "config"));
      process.env.KUBECONFIG = join(dir, "config");
      delete process.env.KUBERNETES_SERVICE_HOST;
      const jobs = createKubernetesJobRunner({ namespace: "leviathan" });
      const { job } = attemptJob();
      await expect(jobs.submit(job)).resolves.toEqual({ created: true });
      expect(fake.jobNames()).toEqual([job.name]);
    } finally {
      if (saved.KUBECONFIG === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved.KUBECONFIG;
      if (saved.HOST !== undefined) process.env.KUBERNETES_SERVICE_HOST = saved.HOST;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
