// `GET /v1/targets/:target/ticks/:tick`: the decision a tick recorded, found by the id derived
// from the target and the tick id, on a real control plane (restarted, so the store's id index
// is the one rebuilt from disk).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tickDecisionEventId } from "../../shared/events/ids.ts";
import type { LeviathanEvent } from "../../shared/events/types.ts";
import { bundle, call, startTestControlPlane, type TestControlPlane } from "./support.ts";

let cp: TestControlPlane;

function decided(target: string, tickId: string, decision: unknown, id?: string): LeviathanEvent {
  return {
    event_id: id ?? tickDecisionEventId(target, tickId),
    event_type: "scheduler.decided",
    timestamp: "2025-01-01T01:00:00.000Z",
    actor_id: "scheduler",
    payload: { target_id: target, tick_id: tickId, decision },
  };
}

const DISPATCH = {
  action: "dispatch",
  task_id: "docs-1",
  attempt_id: "attempt-docs-1-0badf00d",
  attempt_number: 1,
};

beforeAll(async () => {
  cp = await startTestControlPlane();
  const post = (events: LeviathanEvent[]) =>
    call(cp.url, "/v1/events/ingest", { body: bundle(events) });
  expect((await post([decided("radix", "ping-1", DISPATCH)])).json.ingested).toBe(1);
  // Under another tick's derived id, and an event of another type under a tick's id: neither is
  // the decision of the tick asked about.
  expect(
    (await post([decided("radix", "ping-2", DISPATCH, tickDecisionEventId("radix", "ping-3"))]))
      .status,
  ).toBe(200);
  const other = { ...decided("radix", "ping-4", DISPATCH), event_type: "custom.noted" };
  expect((await post([other])).status).toBe(200);
  await cp.restart();
});

afterAll(async () => {
  await cp.cleanup();
});

describe("GET /v1/targets/:target/ticks/:tick", () => {
  it("answers the recorded decision with its record", async () => {
    const reply = await call(cp.url, "/v1/targets/radix/ticks/ping-1");
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({
      target_id: "radix",
      tick_id: "ping-1",
      decision: DISPATCH,
      record: { seq: 1, target: "radix", event: { event_type: "scheduler.decided" } },
    });
  });

  it("answers 404 for a tick with no decision, another target's, or an id that holds something else", async () => {
    for (const path of [
      "/v1/targets/radix/ticks/ping-9",
      "/v1/targets/docs-site/ticks/ping-1",
      "/v1/targets/radix/ticks/ping-3",
      "/v1/targets/radix/ticks/ping-4",
      `/v1/targets/radix/ticks/${"x".repeat(300)}`,
    ]) {
      const reply = await call(cp.url, path);
      expect(reply.status, path).toBe(404);
      expect(reply.json.detail, path).toBe("no decision recorded for this tick");
    }
  });

  it("decodes the tick id as one path segment", async () => {
    const tickId = "local-2025-01-01T01:00:00.000Z/x";
    await call(cp.url, "/v1/events/ingest", { body: bundle([decided("radix", tickId, DISPATCH)]) });
    const reply = await call(cp.url, `/v1/targets/radix/ticks/${encodeURIComponent(tickId)}`);
    expect(reply.status).toBe(200);
    expect(reply.json.tick_id).toBe(tickId);
  });

  it("refuses to store a decision the tick could not answer with", async () => {
    for (const decision of [
      { action: "wait" },
      { action: "dispatch", task_id: "docs-1" },
      "skip",
    ]) {
      const reply = await call(cp.url, "/v1/events/ingest", {
        body: bundle([decided("radix", "ping-bad", decision)]),
      });
      expect(reply.status, JSON.stringify(decision)).toBe(422);
    }
    expect((await call(cp.url, "/v1/targets/radix/ticks/ping-bad")).status).toBe(404);
  });
});
