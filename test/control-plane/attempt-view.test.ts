// `GET /v1/attempts/:id`: beside the attempt's fields and records, the keys the reference
// implementation's clients read — `attempt_node`, `events` (oldest first) and `artifacts`.
import { HTTP } from "cloudevents";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toCloudEvent } from "../../shared/events/cloudevents.ts";
import type { LeviathanEvent, StoredRecord } from "../../shared/events/types.ts";
import {
  attemptEvent,
  bundle,
  call,
  startTestControlPlane,
  type TestControlPlane,
} from "./support.ts";

const A = { attempt_id: "attempt-task-1-0000view", task_id: "task-1", attempt_number: 1 };
const B = { attempt_id: "attempt-task-2-0000view", task_id: "task-2", attempt_number: 1 };
const PR = "https://github.com/iangreen74/radix/pull/11";
const SHA = "cd".repeat(32);
const WORKER_ARTIFACT = {
  attempt_id: A.attempt_id,
  task_id: A.task_id,
  target_id: "radix",
  artifact_id: "artifact-view-1",
  sha256: SHA,
  artifact_type: "log",
  size_bytes: 512,
  storage_path: `artifacts/radix/${A.attempt_id}/executor.log`,
};
const BUNDLE_SHAPE_ARTIFACT = {
  attempt_id: A.attempt_id,
  sha256: "ef".repeat(32),
  kind: "diff",
  uri: "file:///diffs/1.patch",
  size: 99,
};

let cp: TestControlPlane;
let own: LeviathanEvent[];
beforeAll(async () => {
  cp = await startTestControlPlane();
  const artifactEvent = (id: string, payload: Record<string, unknown>): LeviathanEvent => ({
    event_id: id,
    event_type: "artifact.created",
    timestamp: "2024-05-01T12:30:00Z",
    actor_id: "worker",
    payload,
  });
  own = [
    attemptEvent("attempt.requested", A, { config: "dev.yaml" }),
    attemptEvent("attempt.created", A),
    attemptEvent("attempt.started", A),
    artifactEvent(`${A.attempt_id}.artifact.created.${SHA}`, WORKER_ARTIFACT),
    artifactEvent("artifact-bundle-shape-of-a", BUNDLE_SHAPE_ARTIFACT),
    attemptEvent("pr.created", A, { pr_url: PR, pr_number: 11 }),
    attemptEvent("attempt.succeeded", A),
  ];
  const first = await call(cp.url, "/v1/events/ingest", {
    body: bundle(own.slice(0, 3), {
      // A bundle's own artifacts carry no attempt id: they are no attempt's.
      artifacts: [{ sha256: "12".repeat(32), kind: "log", uri: "file:///b.log", size: 1 }],
    }),
  });
  expect(first.status, first.text).toBe(200);
  // The worker's artifact arrives as a CloudEvent, the rest in a second bundle.
  const message = HTTP.structured(toCloudEvent("radix", own[3]!));
  const second = await call(cp.url, "/v1/events", {
    raw: message.body as string,
    headers: message.headers as Record<string, string>,
  });
  expect(second.status, second.text).toBe(200);
  const third = await call(cp.url, "/v1/events/ingest", {
    body: bundle([
      ...own.slice(4),
      attemptEvent("attempt.failed", B, { reason: "clone_failed" }),
      // An artifact naming an attempt no attempt event named.
      artifactEvent("artifact-of-nobody", {
        ...WORKER_ARTIFACT,
        attempt_id: "attempt-nobody-0000",
      }),
    ]),
  });
  expect(third.status, third.text).toBe(200);
});
afterAll(async () => {
  await cp.cleanup();
});

describe("GET /v1/attempts/:id", () => {
  it("keeps the attempt's fields and records, its artifacts among them", async () => {
    const reply = await call(cp.url, `/v1/attempts/${A.attempt_id}`);
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({
      attempt_id: A.attempt_id,
      task_id: "task-1",
      target_id: "radix",
      attempt_number: 1,
      status: "succeeded",
      pr_url: PR,
    });
    const records: StoredRecord[] = reply.json.records;
    expect(records.map((r) => r.event.event_id)).toEqual(own.map((e) => e.event_id));
    expect(records.map((r) => r.seq)).toEqual([...records.map((r) => r.seq)].sort((x, y) => x - y));
  });

  it("attempt_node: the attempt's projected properties", async () => {
    const reply = await call(cp.url, `/v1/attempts/${A.attempt_id}`);
    expect(reply.json.attempt_node).toEqual({
      attempt_id: A.attempt_id,
      task_id: "task-1",
      target_id: "radix",
      attempt_number: 1,
      status: "succeeded",
      pr_url: PR,
      platform_failure: false,
    });
    const failed = await call(cp.url, `/v1/attempts/${B.attempt_id}`);
    expect(failed.json.attempt_node).toMatchObject({ status: "failed", platform_failure: true });
  });

  it("events: its events, oldest first, exactly as stored", async () => {
    const reply = await call(cp.url, `/v1/attempts/${A.attempt_id}`);
    expect(reply.json.events).toEqual(reply.json.records.map((r: StoredRecord) => r.event));
    expect(reply.json.events.map((e: LeviathanEvent) => e.event_type)).toEqual([
      "attempt.requested",
      "attempt.created",
      "attempt.started",
      "artifact.created",
      "artifact.created",
      "pr.created",
      "attempt.succeeded",
    ]);
  });

  it("artifacts: the payloads of its artifact.created events, in either shape", async () => {
    const reply = await call(cp.url, `/v1/attempts/${A.attempt_id}`);
    expect(reply.json.artifacts).toEqual([WORKER_ARTIFACT, BUNDLE_SHAPE_ARTIFACT]);
    const other = await call(cp.url, `/v1/attempts/${B.attempt_id}`);
    expect(other.json.artifacts).toEqual([]);
  });

  it("is the same after a restart", async () => {
    const before = await call(cp.url, `/v1/attempts/${A.attempt_id}`);
    await cp.restart();
    const after = await call(cp.url, `/v1/attempts/${A.attempt_id}`);
    expect(after.json).toEqual(before.json);
  });

  it("404 for an unknown attempt, and for one only an artifact named", async () => {
    for (const id of ["attempt-never-00000000", "attempt-nobody-0000"]) {
      const reply = await call(cp.url, `/v1/attempts/${id}`);
      expect(reply.status).toBe(404);
      expect(reply.json.detail).toBeTypeOf("string");
    }
  });
});
