import { describe, expect, it } from "vitest";
import { timestampMillis } from "./iso-timestamp.ts";
import { bundleSchema, detailsFromZod, eventSchema } from "./schema.ts";

const good = {
  event_id: "e-1",
  event_type: "attempt.started",
  timestamp: "2026-01-02T03:04:05",
  actor_id: "worker",
  payload: { attempt_id: "attempt-t-0000abcd", task_id: "t" },
};

describe("event schema", () => {
  it("accepts the seed's zone-less timestamp and reads it as UTC", () => {
    expect(eventSchema.safeParse(good).success).toBe(true);
    expect(timestampMillis(good.timestamp)).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(timestampMillis("2026-01-02T03:04:05+01:00")).toBe(Date.UTC(2026, 0, 2, 2, 4, 5));
  });

  it("names the field that is wrong", () => {
    const result = bundleSchema.safeParse({
      target: "radix",
      bundle_id: "b",
      events: [good, { ...good, timestamp: "yesterday" }],
    });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(detailsFromZod(result.error)).toContainEqual({
      path: "events[1].timestamp",
      message: "timestamp must be an ISO 8601 date-time",
    });
  });

  it("requires the attempt fields on attempt events and nothing on unknown types", () => {
    const missing = eventSchema.safeParse({ ...good, payload: { task_id: "t" } });
    expect(missing.success).toBe(false);
    const unknown = eventSchema.safeParse({ ...good, event_type: "custom.thing", payload: {} });
    expect(unknown.success).toBe(true);
    expect(eventSchema.safeParse({ ...good, event_type: "Attempt" }).success).toBe(false);
  });

  it("rejects a payload nested deeper than the limit", () => {
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 40; i++) deep = { d: deep };
    expect(eventSchema.safeParse({ ...good, event_type: "x.y", payload: deep }).success).toBe(
      false,
    );
  });
});
