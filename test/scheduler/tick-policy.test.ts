// Every decision the tick records carries the policy it ran under, so the control plane can tell
// a stalled target and an open breaker without reading any config.
import { expect, it } from "vitest";
import { unreadableBacklog } from "../../shared/backlog/parse-backlog.ts";
import { parseEvent } from "../../shared/events/schema.ts";
import { decide, decideBeforeInputs } from "../../shared/scheduler/decide.ts";
import { decidedEvent, tickPolicyOf } from "../../shared/scheduler/scheduler-events.ts";
import { emptyTarget, NOW, seedConfig } from "./fixtures.ts";

const config = seedConfig({ schedule_cron: "*/7 * * * *", circuit_breaker_failures: 4 });
const POLICY = { schedule_cron: "*/7 * * * *", circuit_breaker_failures: 4 };

it("each scheduler.skipped says the schedule and the breaker's threshold", () => {
  const off = decideBeforeInputs({
    config: { ...config, autonomy_enabled: false },
    tickId: "t",
    now: NOW,
  });
  const skipped = decide({
    config,
    configName: "dev.yaml",
    backlog: unreadableBacklog("missing"),
    openPullRequests: [],
    target: emptyTarget(),
    tickId: "t",
    now: NOW,
  });
  for (const plan of [off!, skipped]) {
    const event = plan.events.at(-1)!;
    expect(event.event_type).toBe("scheduler.skipped");
    expect(event.payload).toMatchObject(POLICY);
    // Still a valid event for the control plane's schema.
    expect(() => parseEvent(event)).not.toThrow();
  }
});

it("scheduler.decided says it too, beside the decision", () => {
  const event = decidedEvent(
    "radix",
    "t",
    { action: "skip", reason: "no_ready_task" },
    NOW,
    tickPolicyOf(config),
  );
  expect(event.payload).toEqual({
    target_id: "radix",
    tick_id: "t",
    decision: { action: "skip", reason: "no_ready_task" },
    ...POLICY,
  });
});
