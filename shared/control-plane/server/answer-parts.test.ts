import { describe, expect, it } from "vitest";
import { judgeTarget } from "../../../test/support/judge-target.ts";
import { attemptEvent, recordsOf } from "../../../test/support/state-helpers.ts";
import { syntheticEvents } from "../../../test/support/synthetic-stream.ts";
import { createControlPlaneState } from "../state/create-control-plane-state.ts";
import { judgedSummaryParts, judgedTargetParts } from "./answer-parts.ts";
import type { JsonParts } from "./json-parts.ts";
import { judgeSummary, loadCron } from "./judge-stalled.ts";

const HOUR = 3_600_000;

const textOf = (parts: JsonParts) => Buffer.concat(parts).toString();

describe("the query answers made from kept pieces", () => {
  it("are the text of the judged summary and targets after every record, stalled ones judged", async () => {
    const cron = await loadCron();
    const state = createControlPlaneState();
    const specs = [
      ...syntheticEvents({ seed: 7, events: 400, targets: 4, live: 6, chaos: true }),
      // Ids that an object treats specially: integer-like keys sort first, `__proto__` is a key.
      attemptEvent("requested", "n1", { task: "10" }),
      attemptEvent("requested", "n2", { task: "2" }),
      attemptEvent("requested", "p1", { task: "__proto__" }),
      attemptEvent("failed", "p1", { task: "__proto__", failure_reason: "tests" }),
      attemptEvent("requested", "q1", { target: "__proto__" }),
      { type: "scheduler.decided", target: "radix", payload: { schedule_cron: "*/5 * * * *" } },
      { type: "scheduler.decided", target: "7", payload: { schedule_cron: "0 * * * *" } },
    ];
    const records = recordsOf(specs);
    const targets = ["radix", "7", "__proto__", "never-seen"];
    let compared = 0;
    for (const record of records) {
      state.apply(record);
      // Now, and later when the scheduled targets have stalled.
      for (const now of [
        Date.parse(record.received_at),
        Date.parse(record.received_at) + 5 * HOUR,
      ]) {
        const expected = judgeSummary(cron, state.summary(), now);
        const made = judgedSummaryParts(cron, state.summary(), now);
        expect(textOf(made.parts)).toBe(JSON.stringify(expected.body));
        expect(made.validUntil).toBe(expected.validUntil);
        for (const id of [record.target, ...targets]) {
          const view = judgeTarget(cron, state.target(id), now);
          const target = judgedTargetParts(cron, state.target(id), now);
          expect(textOf(target.parts)).toBe(JSON.stringify(view.body));
          expect(target.validUntil).toBe(view.validUntil);
        }
        compared++;
      }
    }
    const last = JSON.parse(textOf(judgedSummaryParts(cron, state.summary(), Date.now()).parts));
    expect(Object.keys(last.targets)).toContain("__proto__");
    expect(last.targets.radix.tasks).toHaveProperty(["__proto__"]);
    expect(last.targets.radix.stalled).toBe(true);
    expect(compared).toBe(records.length * 2);
  });

  it("keeps the unchanged targets' pieces and the blocks the summary and the target share", async () => {
    const cron = await loadCron();
    const state = createControlPlaneState();
    for (const record of recordsOf([
      attemptEvent("requested", "a", { target: "alpha" }),
      attemptEvent("requested", "b", { target: "beta" }),
    ])) {
      state.apply(record);
    }
    const first = judgedSummaryParts(cron, state.summary(), 0).parts;
    state.apply(recordsOf([attemptEvent("started", "b", { target: "beta" })], 3)[0]!);
    const second = judgedSummaryParts(cron, state.summary(), 0).parts;
    const kept = second.filter((part) => first.includes(part));
    expect(textOf(kept)).toContain('"alpha":{');
    expect(textOf(kept)).not.toContain('"beta":{');
    expect(JSON.parse(textOf(second)).targets.beta.tasks["task-1"].last_status).toBe("running");
    const beta = judgedTargetParts(cron, state.target("beta"), 0).parts;
    expect(beta.some((part) => second.includes(part))).toBe(true);
  });
});
