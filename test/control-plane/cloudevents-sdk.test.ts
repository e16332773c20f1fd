import { CloudEvent, emitterFor, HTTP, httpTransport, Mode } from "cloudevents";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toCloudEvent } from "../../shared/events/cloudevents.ts";
import type { StoredRecord } from "../../shared/events/types.ts";
import {
  attemptEvent,
  call,
  startTestControlPlane,
  type TestControlPlane,
  TOKEN,
} from "./support.ts";

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => {
  await cp.cleanup();
});

const auth = { authorization: `Bearer ${TOKEN}` };

async function storedById(eventId: string): Promise<StoredRecord> {
  const records: StoredRecord[] = (await call(cp.url, "/v1/events?limit=10000")).json.records;
  const record = records.find((r) => r.event.event_id === eventId);
  if (!record) throw new Error(`${eventId} not stored`);
  return record;
}

function sample(n: string) {
  return attemptEvent(
    "attempt.started",
    { attempt_id: `attempt-sdk-${n}`, task_id: "task-sdk", attempt_number: 1 },
    { step: n },
    `sdk-${n}`,
  );
}

async function send(message: { headers: Record<string, unknown>; body: unknown }) {
  return call(cp.url, "/v1/events", {
    raw: message.body as string,
    headers: { ...(message.headers as Record<string, string>) },
  });
}

describe("CloudEvents serialised by the SDK are stored as the mapped events", () => {
  it("binary mode (HTTP.binary)", async () => {
    const event = sample("binary");
    const reply = await send(HTTP.binary(toCloudEvent("radix", event)));
    expect(reply.json).toEqual({ ingested: 1, duplicates: 0, bundle_id: null, status: "ok" });
    const record = await storedById(event.event_id);
    expect(record.target).toBe("radix");
    expect(record.event).toEqual({
      event_id: event.event_id,
      event_type: "attempt.started",
      // The SDK writes `time` as toISOString() does.
      timestamp: new Date(event.timestamp).toISOString(),
      actor_id: "test",
      payload: event.payload,
    });
  });

  it("structured mode (HTTP.structured)", async () => {
    const event = sample("structured");
    const reply = await send(HTTP.structured(toCloudEvent("radix", event)));
    expect(reply.json).toMatchObject({ ingested: 1, duplicates: 0, bundle_id: null });
    const record = await storedById(event.event_id);
    expect(record.event).toEqual({
      ...event,
      timestamp: new Date(event.timestamp).toISOString(),
    });
  });

  it.each([
    ["binary", Mode.BINARY],
    ["structured", Mode.STRUCTURED],
  ])("emitterFor(httpTransport) in %s mode", async (name, mode) => {
    const event = sample(`emitter-${name}`);
    const emit = emitterFor(httpTransport(`${cp.url}/v1/events`), { binding: HTTP, mode });
    const response = (await emit(toCloudEvent("radix", event), { headers: auth })) as {
      body: string;
    };
    expect(JSON.parse(response.body)).toMatchObject({ ingested: 1, duplicates: 0 });
    expect((await storedById(event.event_id)).event.payload).toEqual(event.payload);
  });

  it("batch mode: every event of the batch, in order", async () => {
    const events = ["batch-1", "batch-2", "batch-3"].map(sample);
    const reply = await call(cp.url, "/v1/events", {
      raw: JSON.stringify(events.map((e) => toCloudEvent("radix", e))),
      headers: { "content-type": "application/cloudevents-batch+json" },
    });
    expect(reply.json).toMatchObject({ ingested: 3, duplicates: 0, bundle_id: null });
    const records = await Promise.all(events.map((e) => storedById(e.event_id)));
    expect(records.map((r) => r.seq)).toEqual([
      records[0]!.seq,
      records[0]!.seq + 1,
      records[0]!.seq + 2,
    ]);
    expect(records.map((r) => r.event.payload)).toEqual(events.map((e) => e.payload));
  });

  it("an empty batch stores nothing and says so", async () => {
    const reply = await call(cp.url, "/v1/events", {
      raw: "[]",
      headers: { "content-type": "application/cloudevents-batch+json" },
    });
    expect(reply.json).toEqual({ ingested: 0, duplicates: 0, bundle_id: null, status: "ok" });
  });

  it("the target from data.target_id, the actor as the whole source, the time of receipt", async () => {
    const before = Date.now();
    const ce = new CloudEvent({
      id: "sdk-foreign-source",
      type: "dev.leviathan.custom.noted",
      source: "urn:example:robot",
      data: { target_id: "radix", note: "hi" },
    });
    // The SDK fills `time` itself; drop it to see the server fill in the time of receipt.
    const { time: _time, ...withoutTime } = JSON.parse(ce.toString()) as Record<string, unknown>;
    const reply = await call(cp.url, "/v1/events", {
      raw: JSON.stringify(withoutTime),
      headers: { "content-type": "application/cloudevents+json" },
    });
    expect(reply.json).toMatchObject({ ingested: 1 });
    const record = await storedById("sdk-foreign-source");
    expect(record.target).toBe("radix");
    expect(record.event.actor_id).toBe("urn:example:robot");
    expect(record.event.event_type).toBe("custom.noted");
    expect(Date.parse(record.event.timestamp)).toBeGreaterThanOrEqual(before - 1000);
    // Filled when the request arrived, so never after the store took the record in.
    expect(Date.parse(record.event.timestamp)).toBeLessThanOrEqual(Date.parse(record.received_at));
  });

  it("a timestamp without a zone is stored as sent", async () => {
    const reply = await call(cp.url, "/v1/events", {
      raw: "{}",
      headers: {
        "content-type": "application/json",
        "ce-specversion": "1.0",
        "ce-id": "sdk-no-zone",
        "ce-type": "dev.leviathan.custom.noted",
        "ce-source": "/leviathan/radix/cron",
        "ce-time": "2024-05-01T12:00:00",
        "ce-leviathantarget": "radix",
      },
    });
    expect(reply.json).toMatchObject({ ingested: 1 });
    const record = await storedById("sdk-no-zone");
    expect(record.event).toEqual({
      event_id: "sdk-no-zone",
      event_type: "custom.noted",
      timestamp: "2024-05-01T12:00:00",
      actor_id: "cron",
      payload: {},
    });
  });
});
