// Query answers are kept as JSON text until the next append: a new event must show at once.
import { afterEach, beforeEach, expect, it } from "vitest";
import { MEMBERS_PER_BLOCK } from "../../shared/control-plane/server/json-parts.ts";
import { judgeSummary, loadCron } from "../../shared/control-plane/server/judge-stalled.ts";
import { createControlPlaneState } from "../../shared/control-plane/state/create-control-plane-state.ts";
import { openNdjsonStore } from "../../shared/store/ndjson/open-ndjson-store.ts";
import { judgeTarget } from "../support/judge-target.ts";
import { silentLogger } from "../support/store/store-helpers.ts";
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

it("writes kept pieces byte for byte as the judged views, after a change inside a block too", async () => {
  const requested = (task: number, attempt = `a-${task}`) => ({
    event_id: `${attempt}.requested`,
    event_type: "attempt.requested",
    timestamp: "2026-01-01T00:00:00Z",
    actor_id: "tick",
    payload: { attempt_id: attempt, task_id: `t-${task}`, target_id: "radix", attempt_number: 1 },
  });
  const tasks = Array.from({ length: 2 * MEMBERS_PER_BLOCK + 10 }, (_, i) => requested(i));
  const ingest = (bundle: string, events: object[]) =>
    call(cp.url, "/v1/events/ingest", {
      method: "POST",
      body: { target: "radix", bundle_id: bundle, events },
    });
  expect((await ingest("many", tasks)).status).toBe(200);
  expect((await call(cp.url, "/v1/targets/radix")).status).toBe(200);
  expect((await call(cp.url, "/v1/graph/summary")).status).toBe(200);
  // A task of the middle block changes: the blocks around it are written as they were kept.
  expect((await ingest("again", [requested(MEMBERS_PER_BLOCK + 3, "a-again")])).status).toBe(200);
  const summary = await call(cp.url, "/v1/graph/summary");
  const target = await call(cp.url, "/v1/targets/radix");
  expect(summary.json.targets.radix.tasks[`t-${MEMBERS_PER_BLOCK + 3}`].attempts).toBe(2);

  await cp.stop();
  const state = createControlPlaneState();
  const store = await openNdjsonStore({ dir: cp.dir, projections: [state], logger: silentLogger });
  const cron = await loadCron();
  const now = Date.now();
  expect(summary.text).toBe(JSON.stringify(judgeSummary(cron, state.summary(), now).body));
  expect(target.text).toBe(JSON.stringify(judgeTarget(cron, state.target("radix"), now).body));
  expect(Number(summary.headers.get("content-length"))).toBe(Buffer.byteLength(summary.text));
  await store.close();
});
