// `stalled` over HTTP: judged at the time of the reply against the schedule the last tick
// recorded, so a kept answer turns stalled when the time comes, with no new record.
import { afterAll, beforeAll, expect, it } from "vitest";
import { STALL_GRACE_MS } from "../../shared/control-plane/server/judge-stalled.ts";
import { call, startTestControlPlane, type TestControlPlane } from "./support.ts";

let cp: TestControlPlane;
let clock = Date.parse("2026-03-02T10:00:30Z");

beforeAll(async () => {
  cp = await startTestControlPlane({ now: () => new Date(clock) });
  const tick = (target: string, cron: unknown, at: string) => ({
    target,
    bundle_id: `tick-${target}`,
    events: [
      {
        event_id: `skip-${target}`,
        event_type: "scheduler.skipped",
        timestamp: at,
        actor_id: "scheduler",
        payload: {
          reason: "no_ready_task",
          target_id: target,
          schedule_cron: cron,
          circuit_breaker_failures: 2,
        },
      },
    ],
  });
  for (const body of [
    tick("five", "*/5 * * * *", "2026-03-02T10:00:10Z"),
    tick("hourly", "0 * * * *", "2026-03-02T10:00:10Z"),
    tick("broken", "not a cron", "2026-03-02T10:00:10Z"),
    tick("unknown", 7, "2026-03-02T10:00:10Z"),
  ]) {
    expect((await call(cp.url, "/v1/events/ingest", { method: "POST", body })).status).toBe(200);
  }
});

afterAll(async () => {
  await cp.cleanup();
});

const summary = async () => (await call(cp.url, "/v1/graph/summary")).json.targets;

it("says when each target becomes stalled: two scheduled ticks after its last, plus a grace", async () => {
  const targets = await summary();
  const grace = STALL_GRACE_MS / 1000;
  expect(grace).toBe(60);
  expect(targets.five).toMatchObject({ stalled: false, stalled_at: "2026-03-02T10:11:00.000Z" });
  expect(targets.hourly).toMatchObject({ stalled: false, stalled_at: "2026-03-02T12:01:00.000Z" });
  // A schedule that is no cron expression, or none: never stalled, and no crash.
  expect(targets.broken).toMatchObject({
    stalled: false,
    stalled_at: null,
    schedule_cron: "not a cron",
  });
  expect(targets.unknown).toMatchObject({ stalled: false, stalled_at: null, schedule_cron: null });
});

it("turns stalled when the time passes, though no record came (the kept answer does not hold)", async () => {
  const before = await call(cp.url, "/v1/graph/summary");
  clock = Date.parse("2026-03-02T10:10:59Z");
  expect((await call(cp.url, "/v1/graph/summary")).text).toBe(before.text);
  clock = Date.parse("2026-03-02T10:11:00Z");
  const targets = await summary();
  expect(targets.five.stalled).toBe(true);
  expect(targets.hourly.stalled).toBe(false);
  expect((await call(cp.url, "/v1/targets/five")).json).toMatchObject({
    stalled: true,
    stalled_at: "2026-03-02T10:11:00.000Z",
    last_tick_at: "2026-03-02T10:00:10Z",
  });
  expect((await call(cp.url, "/v1/targets/hourly")).json.stalled).toBe(false);
  const metrics = (await call(cp.url, "/metrics")).text;
  expect(metrics).toContain('leviathan_tick_stalled{target="five"} 1');
  expect(metrics).toContain('leviathan_tick_stalled{target="hourly"} 0');
});

it("a new tick makes it current again", async () => {
  const body = {
    target: "five",
    bundle_id: "tick-five-2",
    events: [
      {
        event_id: "skip-five-2",
        event_type: "scheduler.decided",
        timestamp: "2026-03-02T10:11:02Z",
        actor_id: "scheduler",
        payload: {
          tick_id: "t2",
          decision: { action: "skip", reason: "no_ready_task" },
          schedule_cron: "*/5 * * * *",
          circuit_breaker_failures: 2,
        },
      },
    ],
  };
  expect((await call(cp.url, "/v1/events/ingest", { method: "POST", body })).status).toBe(200);
  expect((await summary()).five).toMatchObject({
    stalled: false,
    stalled_at: "2026-03-02T10:21:00.000Z",
  });
});
