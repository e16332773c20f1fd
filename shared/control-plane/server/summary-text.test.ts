import { describe, expect, it } from "vitest";
import { attemptEvent, recordsOf } from "../../../test/support/state-helpers.ts";
import { syntheticEvents } from "../../../test/support/synthetic-stream.ts";
import { createControlPlaneState } from "../state/create-control-plane-state.ts";
import { judgeSummary, loadCron } from "./judge-stalled.ts";
import { judgedSummaryText } from "./summary-text.ts";

const HOUR = 3_600_000;

describe("the summary's text made from kept pieces", () => {
  it("is the text of the judged summary after every record, with stalled targets judged", async () => {
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
    let compared = 0;
    for (const record of records) {
      state.apply(record);
      // Now, and later when the scheduled targets have stalled.
      for (const now of [
        Date.parse(record.received_at),
        Date.parse(record.received_at) + 5 * HOUR,
      ]) {
        const expected = judgeSummary(cron, state.summary(), now);
        const made = judgedSummaryText(cron, state.summary(), now);
        expect(made.text.toString()).toBe(JSON.stringify(expected.body));
        expect(made.validUntil).toBe(expected.validUntil);
        compared++;
      }
    }
    const last = JSON.parse(judgedSummaryText(cron, state.summary(), Date.now()).text.toString());
    expect(Object.keys(last.targets)).toContain("__proto__");
    expect(last.targets.radix.tasks).toHaveProperty(["__proto__"]);
    expect(last.targets.radix.stalled).toBe(true);
    expect(compared).toBe(records.length * 2);
  });

  it("makes only the changed target's text again", async () => {
    const cron = await loadCron();
    const state = createControlPlaneState();
    for (const record of recordsOf([
      attemptEvent("requested", "a", { target: "alpha" }),
      attemptEvent("requested", "b", { target: "beta" }),
    ])) {
      state.apply(record);
    }
    const first = judgedSummaryText(cron, state.summary(), 0).text.toString();
    state.apply(recordsOf([attemptEvent("started", "b", { target: "beta" })], 3)[0]!);
    const second = JSON.parse(judgedSummaryText(cron, state.summary(), 0).text.toString());
    expect(second.targets.alpha).toEqual(JSON.parse(first).targets.alpha);
    expect(second.targets.beta.tasks["task-1"].last_status).toBe("running");
  });
});
