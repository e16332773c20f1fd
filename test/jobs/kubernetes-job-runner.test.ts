import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { toJobManifest } from "../../shared/jobs/kubernetes/job-manifest.ts";
import { createKubernetesJobRunner } from "../../shared/jobs/kubernetes/kubernetes-job-runner.ts";
import { JobRunnerUnavailableError } from "../../shared/jobs/types.ts";
import { type FakeKubernetes, startFakeKubernetes } from "../support/fake-kubernetes.ts";
import { attemptJob, FAKE_ATTEMPT_TOKEN } from "./job-fixtures.ts";

let fake: FakeKubernetes;

beforeEach(async () => {
  fake = await startFakeKubernetes();
  logLines.length = 0;
});
afterEach(async () => {
  await fake.close();
});

/** Every line the runner logs, at every level, with no redaction to hide behind. */
const logLines: string[] = [];
const logger = pino({ level: "trace" }, { write: (line: string) => void logLines.push(line) });

function runner(overrides: { attempts?: number; timeoutMs?: number } = {}) {
  return createKubernetesJobRunner({
    kubeConfig: fake.kubeConfig(),
    namespace: "leviathan",
    retryDelayMs: 10,
    logger,
    ...overrides,
  });
}

const posts = (resource: "jobs" | "secrets") =>
  fake.requests.filter((r) => r.method === "POST" && r.path.endsWith(`/${resource}`));

function uidOf(object: Record<string, unknown> | undefined): string | undefined {
  return (object?.metadata as { uid?: string } | undefined)?.uid;
}

function ownersOf(secretName: string): Array<Record<string, unknown>> | undefined {
  const metadata = fake.secret(secretName)?.metadata as
    | { ownerReferences?: Array<Record<string, unknown>> }
    | undefined;
  return metadata?.ownerReferences;
}

/** The stored Secret's value for `key`, decoded as the kubelet decodes it into the file. */
function secretValue(name: string, key: string): string | undefined {
  const data = (fake.secret(name)?.data ?? {}) as Record<string, string>;
  return data[key] === undefined ? undefined : Buffer.from(data[key], "base64").toString("utf8");
}

async function deleteJob(name: string, propagationPolicy?: string): Promise<Response> {
  const query = propagationPolicy ? `?propagationPolicy=${propagationPolicy}` : "";
  return fetch(`${fake.url}/apis/batch/v1/namespaces/leviathan/jobs/${name}${query}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${fake.token}` },
  });
}

function failureOf(promise: Promise<unknown>): Promise<Error | undefined> {
  return promise.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
}

describe("Kubernetes job runner against the API server", () => {
  it("creates the Job from the manifest builder; the server validates and stores it", async () => {
    const { job } = attemptJob();
    await expect(runner().submit(job)).resolves.toEqual({ created: true });

    const all = fake.requests.filter((r) => r.method === "POST");
    expect(all.map((r) => r.path)).toEqual([
      "/apis/batch/v1/namespaces/leviathan/jobs",
      "/api/v1/namespaces/leviathan/secrets",
    ]);
    for (const post of all) expect(post.authorized).toBe(true);
    // What went over the wire is exactly the builder's manifest.
    expect(all[0]!.body).toEqual(JSON.parse(JSON.stringify(toJobManifest(job))));
    const stored = fake.job(job.name)!;
    expect(stored.metadata).toMatchObject({
      name: job.name,
      namespace: "leviathan",
      labels: job.labels,
    });
    expect(uidOf(stored)).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("then creates the attempt's Secret, owned by that Job's uid, holding the attempt token", async () => {
    const { job } = attemptJob();
    await runner().submit(job);
    const secret = fake.secret(`${job.name}-token`)!;
    expect(secret).toMatchObject({
      apiVersion: "v1",
      kind: "Secret",
      type: "Opaque",
      metadata: { name: `${job.name}-token`, namespace: "leviathan", labels: job.labels },
    });
    expect(ownersOf(job.attemptSecret.name)).toEqual([
      {
        apiVersion: "batch/v1",
        kind: "Job",
        name: job.name,
        uid: uidOf(fake.job(job.name)),
        blockOwnerDeletion: true,
        controller: false,
      },
    ]);
    expect(Object.keys(secret.data as object)).toEqual(["control-plane-token"]);
    expect(secretValue(job.attemptSecret.name, "control-plane-token")).toBe(FAKE_ATTEMPT_TOKEN);
    // The Job's token volume reads exactly that key of exactly that Secret.
    const volumes = (
      fake.job(job.name) as {
        spec: { template: { spec: { volumes: Array<{ name: string; secret?: unknown }> } } };
      }
    ).spec.template.spec.volumes;
    expect(volumes.find((v) => v.name === "attempt-token")?.secret).toMatchObject({
      secretName: job.attemptSecret.name,
      items: [{ key: "control-plane-token" }],
    });
  });

  it("the token is in no stored Job, no log line and no error, even when the Secret fails", async () => {
    const { job } = attemptJob();
    await runner().submit(job);
    await runner().submit(job);
    expect(JSON.stringify(fake.job(job.name))).not.toContain(FAKE_ATTEMPT_TOKEN);
    expect(JSON.stringify(posts("jobs").map((r) => r.body))).not.toContain(FAKE_ATTEMPT_TOKEN);

    const other = attemptJob({ taskId: "task-2" }).job;
    fake.failNext(5, 503, { resource: "secrets" });
    const error = await failureOf(runner({ attempts: 2 }).submit(other));
    expect(error).toBeInstanceOf(JobRunnerUnavailableError);
    expect(error!.message).not.toContain(FAKE_ATTEMPT_TOKEN);
    expect(error!.stack ?? "").not.toContain(FAKE_ATTEMPT_TOKEN);

    expect(logLines.length).toBeGreaterThan(4);
    expect(logLines.some((l) => l.includes("kubernetes retry"))).toBe(true);
    for (const line of logLines) expect(line).not.toContain(FAKE_ATTEMPT_TOKEN);
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

  it("a repeat submit is success without a second Job or Secret (409 AlreadyExists)", async () => {
    const { job } = attemptJob();
    const jobs = runner();
    await jobs.submit(job);
    const first = { job: fake.job(job.name), secret: fake.secret(job.attemptSecret.name) };
    await expect(jobs.submit(job)).resolves.toEqual({ created: false });
    expect(fake.jobNames()).toEqual([job.name]);
    expect(fake.secretNames()).toEqual([job.attemptSecret.name]);
    expect(posts("jobs")).toHaveLength(2);
    expect(posts("secrets")).toHaveLength(2);
    // Nothing was replaced: the same objects, at the same versions.
    expect(fake.job(job.name)).toEqual(first.job);
    expect(fake.secret(job.attemptSecret.name)).toEqual(first.secret);
  });

  it("a repeat submit creates the Secret if it is missing, owned by the existing Job", async () => {
    const { job } = attemptJob();
    const jobs = runner();
    fake.failNext(10, 503, { resource: "secrets" });
    await expect(runner({ attempts: 2 }).submit(job)).rejects.toBeInstanceOf(
      JobRunnerUnavailableError,
    );
    expect(fake.jobNames()).toEqual([job.name]);
    expect(fake.secretNames()).toEqual([]);

    fake.failNext(0);
    await expect(jobs.submit(job)).resolves.toEqual({ created: false });
    const reads = fake.requests.filter(
      (r) =>
        r.method === "GET" && r.path === `/apis/batch/v1/namespaces/leviathan/jobs/${job.name}`,
    );
    expect(reads).toHaveLength(1); // the uid of the Job that was already there
    expect(ownersOf(job.attemptSecret.name)?.map((r) => r.uid)).toEqual([
      uidOf(fake.job(job.name)),
    ]);
    expect(secretValue(job.attemptSecret.name, "control-plane-token")).toBe(FAKE_ATTEMPT_TOKEN);
  });

  it("a Secret create that fails after the Job is retried with backoff, then succeeds", async () => {
    const { job } = attemptJob();
    fake.failNext(2, 503, { method: "POST", resource: "secrets" });
    await expect(runner({ attempts: 3 }).submit(job)).resolves.toEqual({ created: true });
    expect(posts("jobs")).toHaveLength(1);
    expect(posts("secrets")).toHaveLength(3);
    expect(fake.secretNames()).toEqual([job.attemptSecret.name]);
    const retries = logLines.filter((l) => l.includes("kubernetes retry"));
    expect(retries).toHaveLength(2);
    for (const line of retries)
      expect(line).toContain(`Secret leviathan/${job.attemptSecret.name}`);
  });

  it("a Secret the API server refuses is an error at once, naming the Secret, not the token", async () => {
    const { job } = attemptJob();
    fake.failNext(1, 403, { resource: "secrets" });
    const error = await failureOf(runner().submit(job));
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(JobRunnerUnavailableError);
    expect(error!.message).toContain(`Secret leviathan/${job.attemptSecret.name}`);
    expect(error!.message).toContain("403");
    expect(error!.message).not.toContain(FAKE_ATTEMPT_TOKEN);
    expect(posts("secrets")).toHaveLength(1);
  });

  it("deleting the Job deletes its Secret (garbage collection), unless the delete orphans it", async () => {
    const jobs = runner();
    const { job } = attemptJob();
    await jobs.submit(job);
    expect((await deleteJob(job.name, "Background")).status).toBe(200);
    expect(fake.jobNames()).toEqual([]);
    expect(fake.secretNames()).toEqual([]);

    // A plain API delete of a batch/v1 Job orphans its dependents; kubectl and the TTL
    // controller do not. The Secret stays, owned by nothing.
    const other = attemptJob({ taskId: "task-2" }).job;
    await jobs.submit(other);
    expect((await deleteJob(other.name)).status).toBe(200);
    expect(fake.secretNames()).toEqual([other.attemptSecret.name]);
    expect(fake.secret(other.attemptSecret.name)).toBeDefined();
    expect(ownersOf(other.attemptSecret.name)).toBeUndefined();
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
    expect(posts("jobs")).toHaveLength(3);
    expect(posts("secrets")).toHaveLength(1);
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
