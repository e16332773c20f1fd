// `artifact.created` accepts both payload shapes: the bundle artifact's (`kind`, `uri`, `size`)
// and the one the reference implementation's workers send (`artifact_id`, `artifact_type`,
// `size_bytes`, `storage_path`); `sha256` (64 lowercase hex) is required in both.
import { HTTP } from "cloudevents";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toCloudEvent } from "../../shared/events/cloudevents.ts";
import type { LeviathanEvent, StoredRecord } from "../../shared/events/types.ts";
import { bundle, call, segments, startTestControlPlane, type TestControlPlane } from "./support.ts";

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => {
  await cp.cleanup();
});

const SHA = "0123456789abcdef".repeat(4);
const WORKER_SHAPE = {
  artifact_id: "artifact-7f3a",
  sha256: SHA,
  artifact_type: "log",
  size_bytes: 2048,
  storage_path: "artifacts/radix/attempt-task-1-0000abcd/executor.log",
  attempt_id: "attempt-task-1-0000abcd",
  task_id: "task-1",
  target_id: "radix",
};
const BUNDLE_SHAPE = { sha256: SHA, kind: "log", uri: "file:///logs/1.log", size: 10 };

function artifactEvent(id: string, payload: Record<string, unknown>): LeviathanEvent {
  return {
    event_id: id,
    event_type: "artifact.created",
    timestamp: "2024-05-01T12:00:00Z",
    actor_id: "worker",
    payload,
  };
}

async function storedById(eventId: string): Promise<StoredRecord | undefined> {
  const records: StoredRecord[] = (await call(cp.url, "/v1/events?limit=10000")).json.records;
  return records.find((r) => r.event.event_id === eventId);
}

describe("both shapes are stored as sent", () => {
  it("the workers' shape in a bundle", async () => {
    const event = artifactEvent("artifact-worker-bundle", WORKER_SHAPE);
    const reply = await call(cp.url, "/v1/events/ingest", { body: bundle([event]) });
    expect(reply.status, reply.text).toBe(200);
    expect((await storedById(event.event_id))?.event).toEqual(event);
  });

  it("the workers' shape as a CloudEvent (binary and structured, from the SDK)", async () => {
    for (const mode of ["binary", "structured"] as const) {
      const event = artifactEvent(`artifact-worker-${mode}`, WORKER_SHAPE);
      const message = HTTP[mode](toCloudEvent("radix", event));
      const reply = await call(cp.url, "/v1/events", {
        raw: message.body as string,
        headers: message.headers as Record<string, string>,
      });
      expect(reply.status, reply.text).toBe(200);
      expect((await storedById(event.event_id))?.event.payload).toEqual(WORKER_SHAPE);
    }
  });

  it("the bundle artifact's shape as an event of its own", async () => {
    const event = artifactEvent("artifact-bundle-shape", BUNDLE_SHAPE);
    const reply = await call(cp.url, "/v1/events/ingest", { body: bundle([event]) });
    expect(reply.status, reply.text).toBe(200);
    expect((await storedById(event.event_id))?.event).toEqual(event);
  });
});

describe("a payload that fits neither shape is a 422 naming the field, nothing stored", () => {
  const without = (shape: Record<string, unknown>, name: string) => {
    const copy = { ...shape };
    delete copy[name];
    return copy;
  };
  it.each([
    [
      "workers' shape without sha256",
      without(WORKER_SHAPE, "sha256"),
      "sha256",
      "sha256 is missing",
    ],
    [
      "workers' shape with an upper-case sha256",
      { ...WORKER_SHAPE, sha256: SHA.toUpperCase() },
      "sha256",
      "sha256 must be 64 lowercase hex digits",
    ],
    [
      "workers' shape without storage_path",
      without(WORKER_SHAPE, "storage_path"),
      "storage_path",
      "storage_path is missing",
    ],
    [
      "workers' shape with a fractional size_bytes",
      { ...WORKER_SHAPE, size_bytes: 1.5 },
      "size_bytes",
      "size_bytes must be a whole number",
    ],
    [
      "workers' shape with an empty artifact_id",
      { ...WORKER_SHAPE, artifact_id: "" },
      "artifact_id",
      "artifact_id must not be empty",
    ],
    ["bundle shape without sha256", without(BUNDLE_SHAPE, "sha256"), "sha256", "sha256 is missing"],
    ["bundle shape without uri", without(BUNDLE_SHAPE, "uri"), "uri", "uri is missing"],
    [
      "bundle shape with a negative size",
      { ...BUNDLE_SHAPE, size: -1 },
      "size",
      "size must not be negative",
    ],
  ])("%s", async (name, payload, field, message) => {
    const before = await segments(cp.dir);
    const event = artifactEvent(`artifact-bad-${name.replaceAll(" ", "-")}`, payload);
    const reply = await call(cp.url, "/v1/events/ingest", { body: bundle([event]) });
    expect(reply.status, reply.text).toBe(422);
    expect(reply.json.detail).toEqual([{ path: `events[0].payload.${field}`, message }]);
    expect(await segments(cp.dir)).toEqual(before);
  });

  it("as a CloudEvent, the field is named under data", async () => {
    const event = artifactEvent("artifact-bad-ce", { ...WORKER_SHAPE, sha256: "xyz" });
    const message = HTTP.structured(toCloudEvent("radix", event));
    const reply = await call(cp.url, "/v1/events", {
      raw: message.body as string,
      headers: message.headers as Record<string, string>,
    });
    expect(reply.status, reply.text).toBe(422);
    expect(reply.json.detail).toEqual([
      { path: "data.sha256", message: "sha256 must be 64 lowercase hex digits" },
    ]);
  });
});
