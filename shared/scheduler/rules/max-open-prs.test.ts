import { describe, expect, it } from "vitest";
import { pullRequest, seedConfig } from "../../../test/scheduler/fixtures.ts";
import { agentPullRequests, checkMaxOpenPullRequests } from "./max-open-prs.ts";

describe("max open PRs", () => {
  const config = seedConfig({ max_open_prs: 2 });
  const person = (n: number) => pullRequest(n, { head: "feature/agent/x" });

  it("counts only agent/ heads", () => {
    const prs = [pullRequest(1), person(2), person(3), pullRequest(4, { head: "agentx/y" })];
    expect(agentPullRequests(prs).map((pr) => pr.number)).toEqual([1]);
  });

  it.each([
    [[], null],
    [[pullRequest(1)], null],
    [[pullRequest(1), person(2), person(3)], null],
    [[pullRequest(1), pullRequest(2)], "max_open_prs"],
    [[pullRequest(1), pullRequest(2), pullRequest(3)], "max_open_prs"],
  ])("%#: open PRs against a limit of 2 → %s", (prs, reason) => {
    expect(checkMaxOpenPullRequests(config, prs)?.reason ?? null).toBe(reason);
  });

  it("counts only PRs whose head is a branch of the target repository, not a fork's", () => {
    const fork = (n: number, headRepo: string | null) => pullRequest(n, { headRepo });
    const forks = [fork(1, "mallory/radix"), fork(2, "iangreen74/radix-fork"), fork(3, null)];
    expect(checkMaxOpenPullRequests(config, [...forks, pullRequest(4)])).toBeNull();
    // GitHub's names ignore case, and so does the count.
    const own = [pullRequest(5), fork(6, "IanGreen74/Radix")];
    expect(checkMaxOpenPullRequests(config, [...forks, ...own])?.details).toMatchObject({
      open_agent_prs: 2,
    });
  });

  it("names the agent PRs it counted", () => {
    expect(checkMaxOpenPullRequests(config, [pullRequest(7), person(8), pullRequest(9)])).toEqual({
      reason: "max_open_prs",
      details: {
        open_agent_prs: 2,
        max_open_prs: 2,
        pr_urls: [
          "https://github.com/iangreen74/radix/pull/7",
          "https://github.com/iangreen74/radix/pull/9",
        ],
      },
    });
  });

  it("fails safe when the forge could not be asked", () => {
    expect(checkMaxOpenPullRequests(config, "unavailable")).toEqual({
      reason: "forge_unavailable",
    });
  });
});
