// Dates the calendar does not have are refused on both ingest routes, whatever `Date.parse`
// would roll them over to; real ones (leap days, the seed's zone-less form) are stored as sent.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoredRecord } from "../../shared/events/types.ts";
import {
  attemptEvent,
  bundle,
  call,
  segments,
  startTestControlPlane,
  type TestControlPlane,
} from "./support.ts";

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => {
  await cp.cleanup();
});

const attempt = { attempt_id: "attempt-dates-0000abcd", task_id: "task-1", attempt_number: 1 };

const IMPOSSIBLE = [
  "2018-02-30T00:00:00Z",
  "2023-02-29T00:00:00Z",
  "2024-04-31T10:00:00Z",
  "2021-13-01T00:00:00Z",
  "2024-05-01T24:00:00Z",
  "2024-05-01T25:00:00Z",
];

function structured(id: string, time: string): string {
  return JSON.stringify({
    specversion: "1.0",
    id,
    type: "dev.leviathan.custom.noted",
    source: "/leviathan/radix/cron",
    time,
    leviathantarget: "radix",
    data: {},
  });
}

function binaryHeaders(id: string, time: string): Record<string, string> {
  return {
    "content-type": "application/json",
    "ce-specversion": "1.0",
    "ce-id": id,
    "ce-type": "dev.leviathan.custom.noted",
    "ce-source": "/leviathan/radix/cron",
    "ce-time": time,
    "ce-leviathantarget": "radix",
  };
}

async function stored(eventId: string): Promise<StoredRecord | undefined> {
  const records: StoredRecord[] = (await call(cp.url, "/v1/events")).json.records;
  return records.find((r) => r.event.event_id === eventId);
}

describe("an impossible date is a 422 naming the field, and nothing is stored", () => {
  it.each(IMPOSSIBLE)("seed timestamp %s", async (timestamp) => {
    const before = await segments(cp.dir);
    const event = {
      ...attemptEvent("attempt.started", attempt, {}, `seed-${timestamp}`),
      timestamp,
    };
    const reply = await call(cp.url, "/v1/events/ingest", { body: bundle([event]) });
    expect(reply.status, reply.text).toBe(422);
    expect(reply.json.detail).toEqual([
      { path: "events[0].timestamp", message: "timestamp must be an ISO 8601 date-time" },
    ]);
    expect(await segments(cp.dir)).toEqual(before);
  });

  it.each(IMPOSSIBLE)("structured CloudEvent time %s", async (time) => {
    const before = await segments(cp.dir);
    const reply = await call(cp.url, "/v1/events", {
      raw: structured(`structured-${time}`, time),
      headers: { "content-type": "application/cloudevents+json" },
    });
    expect(reply.status, reply.text).toBe(422);
    expect(reply.json.detail.map((d: { path: string }) => d.path)).toEqual(["time"]);
    expect(await segments(cp.dir)).toEqual(before);
  });

  it.each(IMPOSSIBLE)("binary ce-time %s", async (time) => {
    const before = await segments(cp.dir);
    const reply = await call(cp.url, "/v1/events", {
      raw: "{}",
      headers: binaryHeaders(`binary-${time}`, time),
    });
    expect(reply.status, reply.text).toBe(422);
    expect(reply.json.detail.map((d: { path: string }) => d.path)).toEqual(["time"]);
    expect(await segments(cp.dir)).toEqual(before);
  });
});

describe("real dates are stored as sent", () => {
  it("a leap day and a zone-less leap day in a bundle", async () => {
    const zoned = {
      ...attemptEvent("attempt.created", attempt),
      timestamp: "2024-02-29T23:59:59Z",
    };
    const zoneless = {
      ...attemptEvent("attempt.started", attempt),
      timestamp: "2024-02-29T10:00:00",
    };
    const reply = await call(cp.url, "/v1/events/ingest", { body: bundle([zoned, zoneless]) });
    expect(reply.json).toMatchObject({ ingested: 2 });
    expect((await stored(zoned.event_id))?.event.timestamp).toBe("2024-02-29T23:59:59Z");
    expect((await stored(zoneless.event_id))?.event.timestamp).toBe("2024-02-29T10:00:00");
  });

  it("a leap day as a structured and as a binary CloudEvent's time", async () => {
    const first = await call(cp.url, "/v1/events", {
      raw: structured("leap-structured", "2000-02-29T00:00:00Z"),
      headers: { "content-type": "application/cloudevents+json" },
    });
    expect(first.json).toMatchObject({ ingested: 1 });
    const second = await call(cp.url, "/v1/events", {
      raw: "{}",
      headers: binaryHeaders("leap-binary", "2024-02-29T12:30:00+02:00"),
    });
    expect(second.json).toMatchObject({ ingested: 1 });
    expect((await stored("leap-structured"))?.event.timestamp).toBe("2000-02-29T00:00:00Z");
    expect((await stored("leap-binary"))?.event.timestamp).toBe("2024-02-29T12:30:00+02:00");
  });
});
