// Query answers are kept as JSON text until the next append: a new event must show at once.
import { afterEach, beforeEach, expect, it } from "vitest";
import { call, startTestControlPlane, type TestControlPlane } from "./support.ts";

let cp: TestControlPlane;

beforeEach(async () => {
  cp = await startTestControlPlane();
});

afterEach(async () => {
  await cp.cleanup();
});

function skip(n: number) {
  return {
    event_id: `skip-${n}`,
    event_type: "scheduler.skipped",
    timestamp: `2026-01-01T00:00:0${n}Z`,
    actor_id: "scheduler",
    payload: { reason: `reason-${n}` },
  };
}

it("answers the same question from its kept text until an event arrives, then anew", async () => {
  const ingest = (n: number) =>
    call(cp.url, "/v1/events/ingest", {
      method: "POST",
      body: { target: "radix", bundle_id: `b${n}`, events: [skip(n)] },
    });
  expect((await ingest(1)).status).toBe(200);
  const first = await call(cp.url, "/v1/graph/summary");
  const again = await call(cp.url, "/v1/graph/summary");
  expect(again.text).toBe(first.text);
  expect(first.json.targets.radix.last_skip_reason).toBe("reason-1");
  expect((await call(cp.url, "/v1/targets/radix")).json.target_id).toBe("radix");

  expect((await ingest(2)).status).toBe(200);
  const after = await call(cp.url, "/v1/graph/summary");
  expect(after.json.targets.radix.last_skip_reason).toBe("reason-2");
  expect(after.json.recent_events.map((e: { event_id: string }) => e.event_id)).toEqual([
    "skip-2",
    "skip-1",
  ]);
  // A duplicate stores nothing: the kept answer is still the right one.
  expect((await ingest(2)).json).toMatchObject({ ingested: 0, duplicates: 1 });
  expect((await call(cp.url, "/v1/graph/summary")).text).toBe(after.text);
  // Another target is another question.
  expect((await call(cp.url, "/v1/targets/other")).json).toMatchObject({
    target_id: "other",
    tasks: {},
  });
});
