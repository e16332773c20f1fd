import { describe, expect, it } from "vitest";
import type { AttemptView } from "../control-plane/types.ts";
import type { AttemptRequest } from "../events/types.ts";
import { checkAttemptRecorded } from "./check-attempt-recorded.ts";
import { AttemptNotRecordedError } from "./worker-errors.ts";

const REQUEST: AttemptRequest = {
  target_id: "radix",
  task_id: "task-1",
  attempt_id: "attempt-task-1-0a1b2c3d",
  attempt_number: 1,
  config: "dev.yaml",
};

function view(fields: Partial<AttemptView> = {}): AttemptView {
  const node = {
    attempt_id: REQUEST.attempt_id,
    task_id: REQUEST.task_id,
    target_id: REQUEST.target_id,
    attempt_number: REQUEST.attempt_number,
    status: "requested" as const,
    pr_url: null,
    platform_failure: false,
  };
  const { platform_failure: _, ...attempt } = node;
  return { ...attempt, records: [], attempt_node: node, events: [], artifacts: [], ...fields };
}

describe("checkAttemptRecorded", () => {
  it.each(["requested", "created", "running"] as const)("lets a %s attempt through", (status) => {
    expect(() => checkAttemptRecorded(REQUEST, view({ status }))).not.toThrow();
  });

  it.each<[string, AttemptView | undefined, RegExp]>([
    ["no record", undefined, /is not recorded by the control plane/],
    ["a succeeded attempt", view({ status: "succeeded" }), /has already succeeded/],
    ["a failed attempt", view({ status: "failed" }), /has already failed/],
    ["another target", view({ target_id: "other" }), /target_id "other"/],
    ["another task", view({ task_id: "task-2" }), /task_id "task-2"/],
    ["another number", view({ attempt_number: 2 }), /attempt_number 2/],
    ["a number never recorded", view({ attempt_number: null }), /attempt_number null/],
    [
      "several fields at once, each named",
      view({ task_id: "task-2", attempt_number: 3 }),
      /task_id "task-2", attempt_number 3, not as requested/,
    ],
  ])("refuses %s", (_what, recorded, message) => {
    expect(() => checkAttemptRecorded(REQUEST, recorded)).toThrow(AttemptNotRecordedError);
    expect(() => checkAttemptRecorded(REQUEST, recorded)).toThrow(message);
  });
});
