import { describe, expect, it } from "vitest";
import type { EventSpec } from "../../../test/support/state-helpers.ts";
import { stateAfter } from "../../../test/support/state-helpers.ts";
import type { OpenPullRequest } from "../types.ts";

const URL1 = "https://github.com/acme/radix/pull/1";
const URL2 = "https://github.com/acme/radix/pull/2";

function created(url: string, more: Record<string, unknown> = {}): EventSpec {
  return {
    type: "pr.created",
    payload: { attempt_id: "attempt-t1-1", task_id: "t1", pr_url: url, pr_number: 1, ...more },
  };
}
const merged = (url: string): EventSpec => ({ type: "pr.merged", payload: { pr_url: url } });
const closed = (url: string): EventSpec => ({ type: "pr.closed", payload: { pr_url: url } });

const open1: OpenPullRequest = {
  pr_url: URL1,
  pr_number: 1,
  task_id: "t1",
  attempt_id: "attempt-t1-1",
};

describe("open pull requests: created and not merged or closed", () => {
  const cases: Array<[string, EventSpec[], OpenPullRequest[]]> = [
    ["created", [created(URL1)], [open1]],
    ["created, merged", [created(URL1), merged(URL1)], []],
    ["created, closed", [created(URL1), closed(URL1)], []],
    ["merged, then a late retried pr.created", [created(URL1), merged(URL1), created(URL1)], []],
    ["another PR's end", [created(URL1), merged(URL2)], [open1]],
    ["created twice (a retried attempt reuses its PR)", [created(URL1), created(URL1)], [open1]],
    [
      "the repeat supplies a missing number and task",
      [created(URL1, { pr_number: undefined, task_id: undefined }), created(URL1)],
      [open1],
    ],
    [
      "two PRs, the first closed",
      [
        created(URL1),
        created(URL2, { attempt_id: "attempt-t2-1", task_id: "t2", pr_number: 2 }),
        closed(URL1),
      ],
      [{ pr_url: URL2, pr_number: 2, task_id: "t2", attempt_id: "attempt-t2-1" }],
    ],
    [
      "no task_id: the attempt's task",
      [
        { type: "attempt.requested", payload: { attempt_id: "attempt-t1-1", task_id: "t1" } },
        created(URL1, { task_id: undefined }),
      ],
      [open1],
    ],
    [
      "a bad pr_number is unknown",
      [created(URL1, { pr_number: "1" })],
      [{ ...open1, pr_number: null }],
    ],
    ["no pr_url: ignored", [created(URL1, { pr_url: 5 })], []],
    ["no attempt_id: ignored", [created(URL1, { attempt_id: undefined })], []],
  ];
  it.each(cases)("%s", (_name, events, expected) => {
    const state = stateAfter(events);
    expect(state.target("radix").open_pull_requests).toEqual(expected);
    const opened = state.summary().targets.radix?.open_prs;
    expect(opened).toEqual(expected.map((pr) => pr.pr_url));
  });

  it("links the PR to its attempt (the first URL it produced)", () => {
    const state = stateAfter([
      { type: "attempt.requested", payload: { attempt_id: "attempt-t1-1", task_id: "t1" } },
      created(URL1),
      created(URL2),
      merged(URL1),
    ]);
    expect(state.attempt("attempt-t1-1")?.pr_url).toBe(URL1);
    expect(state.summary().nodes_by_type.PullRequest).toBe(2);
    expect(state.summary().edges_by_type.PRODUCED).toBe(2);
  });
});
