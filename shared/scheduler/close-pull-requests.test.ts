import { describe, expect, it } from "vitest";
import { NOW, pullRequest } from "../../test/scheduler/fixtures.ts";
import type { OpenPullRequest } from "../control-plane/types.ts";
import { parseEvent } from "../events/schema.ts";
import { closureEvent, planPullRequestClosures } from "./close-pull-requests.ts";

function known(number: number, withNumber = true): OpenPullRequest {
  return {
    pr_url: `https://github.com/iangreen74/radix/pull/${number}`,
    pr_number: withNumber ? number : null,
    task_id: "t1",
    attempt_id: "attempt-t1-0badf00d",
  };
}

describe("planPullRequestClosures", () => {
  it("fetches only the PRs the store knows as open that left the forge's open list", () => {
    const storeOpen = [known(1), known(2), known(3, false)];
    const forgeOpen = [pullRequest(2), pullRequest(9)];
    expect(planPullRequestClosures(storeOpen, forgeOpen)).toEqual([
      { number: 1, known: known(1) },
      { number: 3, known: known(3, false) },
    ]);
  });

  it("fetches nothing when every known PR is still open", () => {
    expect(planPullRequestClosures([known(1)], [pullRequest(1)])).toEqual([]);
  });
});

describe("closureEvent", () => {
  const closed = { ...pullRequest(1, { task: "t1" }), state: "closed" as const };

  it.each([
    [true, "pr.merged"],
    [false, "pr.closed"],
  ])("merged %s → %s with pr_number, pr_url, target, task and attempt", (merged, type) => {
    const event = closureEvent({ ...closed, merged }, known(1), "radix", NOW);
    expect(event).toMatchObject({
      event_type: type,
      actor_id: "scheduler",
      timestamp: NOW.toISOString(),
      payload: {
        pr_number: 1,
        pr_url: "https://github.com/iangreen74/radix/pull/1",
        target_id: "radix",
        task_id: "t1",
        attempt_id: "attempt-t1-0badf00d",
      },
    });
    expect(parseEvent(event)).toEqual(event);
  });

  it("gives the same id each time, and different ones for merged and closed", () => {
    const a = closureEvent({ ...closed, merged: true }, known(1), "radix", NOW);
    const b = closureEvent({ ...closed, merged: true }, known(1), "radix", new Date(0));
    const c = closureEvent(closed, known(1), "radix", NOW);
    expect(a?.event_id).toBe(b?.event_id);
    expect(a?.event_id).not.toBe(c?.event_id);
  });

  it("records nothing for a PR that is open again", () => {
    expect(closureEvent(pullRequest(1), known(1), "radix", NOW)).toBeNull();
  });
});
