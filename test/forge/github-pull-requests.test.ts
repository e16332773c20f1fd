import { describe, expect, it } from "vitest";
import { errorMessage } from "../../shared/errors/error-message.ts";
import { PullRequestRejectedError } from "../../shared/forge/github/forge-errors.ts";
import { assertRepliesMatchGitHub, useGitHubFakeWithForge } from "../support/github-fake.ts";

const OWNER = "acme";
const REPO = "radix";
const setup = useGitHubFakeWithForge();

describe("GitHub forge: pull requests", () => {
  it("lists every open PR across pages of 100, agent and other heads alike", async () => {
    const { fake, forge } = await setup();
    for (let n = 1; n <= 160; n++) {
      fake.pulls.push({
        number: n,
        title: `PR ${n}`,
        body: n % 2 ? `<!-- leviathan: target=radix task=t${n} attempt=a${n} -->` : null,
        head: n % 3 === 0 ? `feature/${n}` : `agent/backlog-propose-attempt-t${n}-0000000${n % 10}`,
        base: "main",
        // Ten closed ones in the middle must not be listed.
        state: n > 70 && n <= 80 ? "closed" : "open",
      });
    }
    const open = await forge.listOpenPullRequests();
    expect(open).toHaveLength(150);
    expect(new Set(open.map((pull) => pull.number)).size).toBe(150);
    expect(open.some((pull) => pull.number > 70 && pull.number <= 80)).toBe(false);
    expect(open.filter((pull) => pull.head_ref.startsWith("agent/"))).toHaveLength(100);
    expect(open.find((pull) => pull.number === 3)).toEqual({
      number: 3,
      html_url: `${new URL(fake.apiUrl).origin}/${OWNER}/${REPO}/pull/3`,
      state: "open",
      merged: false,
      title: "PR 3",
      body: "<!-- leviathan: target=radix task=t3 attempt=a3 -->",
      head_ref: "feature/3",
      head_repo: `${OWNER}/${REPO}`,
      base_ref: "main",
    });
    // Two pages, each one request, asked 100 at a time.
    expect(forge.requestCount).toBe(2);
    const asked = fake.exchanges.map((exchange) => exchange.request.query);
    expect(asked.map((query) => query.get("per_page"))).toEqual(["100", "100"]);
    expect(asked.map((query) => query.get("state"))).toEqual(["open", "open"]);
    expect(assertRepliesMatchGitHub(fake)).toBe(2);
  });

  it("finds the open PR of a branch with head=owner:branch, and null when there is none", async () => {
    const { fake, forge } = await setup();
    fake.pulls.push(
      { number: 1, title: "old", body: null, head: "agent/x", base: "main", state: "closed" },
      { number: 2, title: "other", body: null, head: "agent/y", base: "main", state: "open" },
      { number: 3, title: "mine", body: null, head: "agent/x", base: "main", state: "open" },
    );
    const found = await forge.findOpenPullRequest("agent/x");
    expect(found).toMatchObject({ number: 3, head_ref: "agent/x", state: "open" });
    expect(fake.exchanges[0]?.request.query.get("head")).toBe(`${OWNER}:agent/x`);
    expect(fake.exchanges[0]?.request.query.get("state")).toBe("open");
    expect(await forge.findOpenPullRequest("agent/none")).toBeNull();
    expect(forge.requestCount).toBe(2);
    expect(assertRepliesMatchGitHub(fake)).toBe(2);
  });

  it("names each PR's head repository, a fork's for a PR from a fork, in replies GitHub could send", async () => {
    const { fake, forge } = await setup();
    fake.pulls.push(
      { number: 1, title: "own", body: null, head: "agent/x", base: "main", state: "open" },
      {
        number: 2,
        title: "from a fork",
        body: "<!-- leviathan: target=radix task=t1 attempt=a1 -->",
        head: "agent/x",
        base: "main",
        state: "open",
        headRepo: "mallory/radix",
      },
    );
    const open = await forge.listOpenPullRequests();
    expect(open.map((pull) => [pull.number, pull.head_ref, pull.head_repo])).toEqual([
      [1, "agent/x", `${OWNER}/${REPO}`],
      [2, "agent/x", "mallory/radix"],
    ]);
    expect((await forge.getPullRequest(2)).head_repo).toBe("mallory/radix");
    const [, fork] = JSON.parse(fake.exchanges[0]!.body) as unknown[];
    expect(fork).toMatchObject({
      head: {
        label: "mallory:agent/x",
        user: { login: "mallory" },
        repo: { full_name: "mallory/radix", fork: true, owner: { login: "mallory" } },
      },
      base: { repo: { full_name: `${OWNER}/${REPO}`, fork: false } },
    });
    expect(assertRepliesMatchGitHub(fake)).toBe(2);
  });

  it("never takes a fork's same-named branch for the open PR of a branch", async () => {
    const { fake, forge } = await setup();
    fake.pulls.push({
      number: 5,
      title: "from a fork",
      body: null,
      head: "agent/x",
      base: "main",
      state: "open",
      headRepo: "mallory/radix",
    });
    // The fake filters by `head=acme:agent/x` as GitHub does: nothing.
    expect(await forge.findOpenPullRequest("agent/x")).toBeNull();
    // A forge that ignores `head` lists the fork's PR anyway (as GitHub lists it): still not ours.
    await forge.listOpenPullRequests();
    fake.inject({ status: 200, body: JSON.parse(fake.exchanges[1]!.body) });
    expect(await forge.findOpenPullRequest("agent/x")).toBeNull();
    expect(assertRepliesMatchGitHub(fake)).toBe(2);
  });

  it("reads one PR, merged or closed, as the tick needs it to record the outcome", async () => {
    const { fake, forge } = await setup();
    fake.pulls.push(
      {
        number: 7,
        title: "done",
        body: "b",
        head: "agent/a",
        base: "main",
        state: "closed",
        merged: true,
      },
      { number: 8, title: "dropped", body: "b", head: "agent/b", base: "main", state: "closed" },
    );
    expect(await forge.getPullRequest(7)).toMatchObject({
      number: 7,
      state: "closed",
      merged: true,
    });
    expect(await forge.getPullRequest(8)).toMatchObject({
      number: 8,
      state: "closed",
      merged: false,
    });
    await expect(forge.getPullRequest(9)).rejects.toMatchObject({
      name: "ForgeUnavailableError",
      status: 404,
    });
    expect(assertRepliesMatchGitHub(fake)).toBe(3);
  });

  it("creates a PR, and a second one for the same head is a PullRequestRejectedError", async () => {
    const { fake, forge, token } = await setup();
    const request = { title: "Task 1", body: "body", head: "agent/docs-attempt-1", base: "main" };
    const created = await forge.createPullRequest(request);
    expect(created).toMatchObject({
      number: 1,
      state: "open",
      merged: false,
      title: "Task 1",
      body: "body",
      head_ref: "agent/docs-attempt-1",
      base_ref: "main",
    });
    expect(fake.exchanges[0]?.request.method).toBe("POST");
    expect(JSON.parse(fake.exchanges[0]?.request.body ?? "")).toEqual(request);
    const error = await forge.createPullRequest(request).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PullRequestRejectedError);
    expect(error).toMatchObject({ status: 422, alreadyExists: true });
    expect(errorMessage(error)).toMatch(/already exists/);
    expect(errorMessage(error)).not.toContain(token);
    expect(fake.pulls).toHaveLength(1);
    // A refusal is an answer, not a fault to retry.
    expect(forge.requestCount).toBe(2);
    expect(assertRepliesMatchGitHub(fake)).toBe(2);
  });

  it("works under a GitHub Enterprise base path (/api/v3)", async () => {
    const { fake, forge } = await setup({}, "/api/v3");
    for (let n = 1; n <= 101; n++) {
      fake.pulls.push({
        number: n,
        title: `PR ${n}`,
        body: null,
        head: `agent/${n}`,
        base: "main",
        state: "open",
      });
    }
    expect(await forge.listOpenPullRequests()).toHaveLength(101);
    expect(fake.exchanges.map((exchange) => new URL(exchange.url, "http://x").pathname)).toEqual([
      "/api/v3/repos/acme/radix/pulls",
      "/api/v3/repos/acme/radix/pulls",
    ]);
    expect(assertRepliesMatchGitHub(fake)).toBe(2);
  });
});
