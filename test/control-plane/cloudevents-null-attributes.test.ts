// The JSON event format (cloudevents/spec formats/json-format.md §2.2): "When decoding
// attributes and a `null` value is encountered, it MUST be treated as the equivalent of unset or
// omitted." So in structured and batch mode a null optional attribute or extension is absent, and
// a null required attribute is a missing one.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoredRecord } from "../../shared/events/types.ts";
import { call, segments, startTestControlPlane, type TestControlPlane } from "./support.ts";

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => {
  await cp.cleanup();
});

const STRUCTURED = { "content-type": "application/cloudevents+json" };
const BATCH = { "content-type": "application/cloudevents-batch+json" };

function cloudEvent(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    specversion: "1.0",
    id,
    type: "dev.leviathan.attempt.started",
    source: "/leviathan/radix/worker",
    time: "2024-05-01T12:00:00Z",
    subject: `attempt-${id}`,
    datacontenttype: "application/json",
    leviathantarget: "radix",
    data: { attempt_id: `attempt-${id}`, task_id: "task-1", target_id: "radix" },
    ...extra,
  };
}

async function storedById(eventId: string): Promise<StoredRecord | undefined> {
  const records: StoredRecord[] = (await call(cp.url, "/v1/events?limit=10000")).json.records;
  return records.find((r) => r.event.event_id === eventId);
}

describe("a null optional attribute is an unset one", () => {
  it.each([
    ["subject", { subject: null }],
    ["datacontenttype", { datacontenttype: null }],
    ["dataschema", { dataschema: null }],
    ["an extension", { comexampleextension1: null }],
    [
      "every optional attribute at once",
      { subject: null, datacontenttype: null, dataschema: null },
    ],
  ])("%s: null → stored as if it were absent", async (name, extra) => {
    const id = `null-${name.replaceAll(" ", "-")}`;
    const reply = await call(cp.url, "/v1/events", {
      raw: JSON.stringify(cloudEvent(id, extra)),
      headers: STRUCTURED,
    });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({ ingested: 1, duplicates: 0 });
    expect((await storedById(id))?.event).toEqual({
      event_id: id,
      event_type: "attempt.started",
      timestamp: "2024-05-01T12:00:00Z",
      actor_id: "worker",
      payload: { attempt_id: `attempt-${id}`, task_id: "task-1", target_id: "radix" },
    });
  });

  it('"time": null → the time the request was received', async () => {
    const before = Date.now();
    const reply = await call(cp.url, "/v1/events", {
      raw: JSON.stringify(cloudEvent("null-time", { time: null })),
      headers: STRUCTURED,
    });
    expect(reply.status, reply.text).toBe(200);
    const record = await storedById("null-time");
    expect(Date.parse(record!.event.timestamp)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(record!.event.timestamp)).toBeLessThanOrEqual(
      Date.parse(record!.received_at),
    );
  });

  it('"leviathantarget": null → the target from data.target_id', async () => {
    const reply = await call(cp.url, "/v1/events", {
      raw: JSON.stringify(cloudEvent("null-target", { leviathantarget: null })),
      headers: STRUCTURED,
    });
    expect(reply.status, reply.text).toBe(200);
    expect((await storedById("null-target"))?.target).toBe("radix");
  });

  it("null attributes inside a batch, each event judged on its own", async () => {
    const reply = await call(cp.url, "/v1/events", {
      raw: JSON.stringify([
        cloudEvent("null-batch-1", { subject: null }),
        cloudEvent("null-batch-2", { time: null, dataschema: null, leviathantarget: null }),
      ]),
      headers: BATCH,
    });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({ ingested: 2 });
    expect((await storedById("null-batch-2"))?.target).toBe("radix");
  });

  it('"data": null stays an explicit null payload, stored as an empty one', async () => {
    const reply = await call(cp.url, "/v1/events", {
      raw: JSON.stringify(
        cloudEvent("null-data", { type: "dev.leviathan.custom.noted", data: null }),
      ),
      headers: STRUCTURED,
    });
    expect(reply.status, reply.text).toBe(200);
    expect((await storedById("null-data"))?.event.payload).toEqual({});
  });
});

describe("a null required attribute is a missing one: 422, nothing stored", () => {
  it.each([
    ["specversion", 'specversion must be "1.0"'],
    ["id", "id must be a non-empty string"],
    ["source", "source must be a non-empty string"],
    ["type", "type must be a non-empty string"],
  ])("%s: null", async (name, message) => {
    const before = await segments(cp.dir);
    const reply = await call(cp.url, "/v1/events", {
      raw: JSON.stringify(cloudEvent(`null-required-${name}`, { [name]: null })),
      headers: STRUCTURED,
    });
    expect(reply.status, reply.text).toBe(422);
    expect(reply.json.detail).toContainEqual({ path: name, message });
    expect(await segments(cp.dir)).toEqual(before);
  });

  it("a null target extension with no data.target_id leaves no target at all", async () => {
    const before = await segments(cp.dir);
    const ce = cloudEvent("null-no-target", { leviathantarget: null });
    ce.data = { attempt_id: "attempt-null-no-target", task_id: "task-1" };
    const reply = await call(cp.url, "/v1/events", {
      raw: JSON.stringify(ce),
      headers: STRUCTURED,
    });
    expect(reply.status, reply.text).toBe(422);
    expect(reply.json.detail.map((d: { path: string }) => d.path)).toEqual(["leviathantarget"]);
    expect(await segments(cp.dir)).toEqual(before);
  });

  it("a null id in a batch names its index, and none of the batch is stored", async () => {
    const before = await segments(cp.dir);
    const reply = await call(cp.url, "/v1/events", {
      raw: JSON.stringify([cloudEvent("null-batch-ok"), cloudEvent("unused", { id: null })]),
      headers: BATCH,
    });
    expect(reply.status, reply.text).toBe(422);
    expect(reply.json.detail).toContainEqual({
      path: "[1].id",
      message: "id must be a non-empty string",
    });
    expect(await segments(cp.dir)).toEqual(before);
    expect(await storedById("null-batch-ok")).toBeUndefined();
  });
});
