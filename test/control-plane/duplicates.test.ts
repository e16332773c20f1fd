import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { artifactEventId } from "../../shared/control-plane/server/items-from-bundle.ts";
import { toCloudEvent } from "../../shared/events/cloudevents.ts";
import {
  attemptEvent,
  bundle,
  call,
  startTestControlPlane,
  type TestControlPlane,
} from "./support.ts";

const attempt = { attempt_id: "attempt-task-1-1111aaaa", task_id: "task-1", attempt_number: 1 };

let cp: TestControlPlane;
beforeEach(async () => {
  cp = await startTestControlPlane();
});
afterEach(async () => {
  await cp.cleanup();
});

async function stored(): Promise<
  Array<{ seq: number; event: { event_id: string; payload: Record<string, unknown> } }>
> {
  return (await call(cp.url, "/v1/events?limit=10000")).json.records;
}

describe("an event_id seen before is acknowledged and not stored again", () => {
  it("the same event twice: the second is a duplicate, stored once", async () => {
    const event = attemptEvent("attempt.created", attempt);
    const first = await call(cp.url, "/v1/events/ingest", { body: bundle([event]) });
    expect(first.json).toEqual({
      ingested: 1,
      duplicates: 0,
      bundle_id: expect.any(String),
      status: "ok",
    });
    const second = await call(cp.url, "/v1/events/ingest", { body: bundle([event]) });
    expect(second.status).toBe(200);
    expect(second.json).toMatchObject({ ingested: 0, duplicates: 1 });
    expect((await stored()).map((r) => r.event.event_id)).toEqual([event.event_id]);
  });

  it("the first write wins even when the content differs", async () => {
    const event = attemptEvent("attempt.created", attempt, { note: "first" });
    await call(cp.url, "/v1/events/ingest", { body: bundle([event]) });
    const changed = { ...event, payload: { ...event.payload, note: "second" } };
    const reply = await call(cp.url, "/v1/events/ingest", { body: bundle([changed]) });
    expect(reply.json).toMatchObject({ ingested: 0, duplicates: 1 });
    const records = await stored();
    expect(records).toHaveLength(1);
    expect(records[0]!.event.payload.note).toBe("first");
  });

  it("an event repeated inside one request counts as a duplicate", async () => {
    const event = attemptEvent("attempt.created", attempt);
    const reply = await call(cp.url, "/v1/events/ingest", { body: bundle([event, event]) });
    expect(reply.json).toMatchObject({ ingested: 1, duplicates: 1 });
    expect(await stored()).toHaveLength(1);
  });

  it("a bundle and a CloudEvent with one id are one event", async () => {
    const event = attemptEvent("attempt.started", attempt);
    await call(cp.url, "/v1/events/ingest", { body: bundle([event]) });
    const reply = await call(cp.url, "/v1/events", {
      raw: toCloudEvent("radix", event).toString(),
      headers: { "content-type": "application/cloudevents+json" },
    });
    expect(reply.json).toEqual({ ingested: 0, duplicates: 1, bundle_id: null, status: "ok" });
  });

  it("across a restart on the same directory", async () => {
    const event = attemptEvent("attempt.created", attempt);
    await call(cp.url, "/v1/events/ingest", { body: bundle([event]) });
    await cp.restart();
    const reply = await call(cp.url, "/v1/events/ingest", { body: bundle([event]) });
    expect(reply.json).toMatchObject({ ingested: 0, duplicates: 1 });
    const other = attemptEvent("attempt.started", attempt);
    const next = await call(cp.url, "/v1/events/ingest", { body: bundle([event, other]) });
    expect(next.json).toMatchObject({ ingested: 1, duplicates: 1 });
    expect((await stored()).map((r) => [r.seq, r.event.event_id])).toEqual([
      [1, event.event_id],
      [2, other.event_id],
    ]);
  });

  it("16 concurrent clients posting the same event: stored exactly once", async () => {
    const event = attemptEvent("attempt.created", attempt);
    const replies = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        i % 2 === 0
          ? call(cp.url, "/v1/events/ingest", { body: bundle([event]) })
          : call(cp.url, "/v1/events", {
              raw: toCloudEvent("radix", event).toString(),
              headers: { "content-type": "application/cloudevents+json" },
            }),
      ),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(16).fill(200));
    expect(replies.reduce((n, r) => n + r.json.ingested, 0)).toBe(1);
    expect(replies.reduce((n, r) => n + r.json.duplicates, 0)).toBe(15);
    expect(await stored()).toHaveLength(1);
  });

  it("a resent bundle's artifacts are duplicates too: their ids come from bundle_id and sha256", async () => {
    const sha256 = "0123456789abcdef".repeat(4);
    const sent = bundle([attemptEvent("attempt.succeeded", attempt)], {
      artifacts: [{ sha256, kind: "log", uri: "s3://logs/1", size: 42 }],
    });
    const first = await call(cp.url, "/v1/events/ingest", { body: sent });
    expect(first.json).toMatchObject({ ingested: 2, duplicates: 0, bundle_id: sent.bundle_id });
    const again = await call(cp.url, "/v1/events/ingest", { body: sent });
    expect(again.json).toMatchObject({ ingested: 0, duplicates: 2 });
    const records = await stored();
    // The artifact is stored after the bundle's events.
    expect(records.map((r) => r.event.event_id)).toEqual([
      "attempt-task-1-1111aaaa.attempt.succeeded",
      artifactEventId(sent.bundle_id, sha256),
    ]);
    expect(records[1]!.event).toMatchObject({
      event_type: "artifact.created",
      payload: { sha256, kind: "log", uri: "s3://logs/1", size: 42, bundle_id: sent.bundle_id },
    });
  });
});
