// The production client's pull-request calls against the local forge: real branches, PRs the
// forge numbers itself, and every reply of the same calls held against GitHub's description.
import { describe, expect, it } from "vitest";
import { errorMessage } from "../../shared/errors/error-message.ts";
import { PullRequestRejectedError } from "../../shared/forge/github/forge-errors.ts";
import {
  api,
  apiRequestsSince,
  checkedOctokit,
  cloneRepo,
  closePull,
  OWNER,
  openPull,
  openPulls,
  productionClient,
  pushBranch,
  pushBranches,
  pushToFork,
  REPO,
  useTestForge,
} from "../support/forge-fixtures.ts";

const PULLS = `/repos/${OWNER}/${REPO}/pulls`;
const setup = useTestForge();

describe("GitHub forge: pull requests", () => {
  it("lists every open PR across pages of 100 under /api/v3, agent and other heads alike", async () => {
    const test = await setup();
    const clone = await cloneRepo(test);
    const heads = Array.from({ length: 160 }, (_, i) => {
      const n = i + 1;
      return n % 3 === 0 ? `feature/${n}` : `agent/backlog-propose-attempt-t${n}-0000000${n % 10}`;
    });
    await pushBranches(test, clone, heads);
    const numbers = await openPulls(test, heads, (_, i) =>
      i % 2 === 0 ? `<!-- leviathan: target=radix task=t${i + 1} attempt=a${i + 1} -->` : null,
    );
    // Ten closed ones in the middle must not be listed.
    const closed = numbers.slice(70, 80);
    for (const number of closed) await closePull(test, number);

    const from = test.forge.requests.length;
    const { forge } = productionClient(test);
    const open = await forge.listOpenPullRequests();
    expect(open).toHaveLength(150);
    expect(new Set(open.map((pull) => pull.number)).size).toBe(150);
    expect(open.some((pull) => closed.includes(pull.number))).toBe(false);
    expect(open.filter((pull) => pull.head_ref.startsWith("agent/"))).toHaveLength(100);
    const third = numbers[2]!;
    expect(open.find((pull) => pull.number === third)).toEqual({
      number: third,
      html_url: `${test.forge.url}/${OWNER}/${REPO}/pull/${third}`,
      state: "open",
      merged: false,
      title: "PR from feature/3",
      body: "<!-- leviathan: target=radix task=t3 attempt=a3 -->",
      head_ref: "feature/3",
      head_repo: `${OWNER}/${REPO}`,
      base_ref: "main",
    });
    // Two pages, each one request, asked 100 at a time, under the Enterprise base path.
    expect(forge.requestCount).toBe(2);
    const asked = apiRequestsSince(test, from);
    expect(asked.map((request) => request.pathname)).toEqual([
      `/api/v3${PULLS}`,
      `/api/v3${PULLS}`,
    ]);
    expect(asked.map((request) => request.query.get("per_page"))).toEqual(["100", "100"]);
    expect(asked.map((request) => request.query.get("state"))).toEqual(["open", "open"]);
    // The same pages, as GitHub could send them.
    const { octokit, checked } = checkedOctokit(test);
    const pages = await octokit.paginate(octokit.rest.pulls.list, {
      owner: OWNER,
      repo: REPO,
      state: "open",
      per_page: 100,
    });
    expect(pages).toHaveLength(150);
    expect(checked()).toBe(2);
  });

  it("finds the open PR of a branch with head=owner:branch, and null when there is none", async () => {
    const test = await setup();
    const clone = await cloneRepo(test);
    await pushBranches(test, clone, ["agent/x", "agent/y"]);
    await closePull(test, await openPull(test, "agent/x", "old"));
    await openPull(test, "agent/y", "other");
    const mine = await openPull(test, "agent/x", "mine");
    const from = test.forge.requests.length;
    const { forge } = productionClient(test);
    const found = await forge.findOpenPullRequest("agent/x");
    expect(found).toMatchObject({
      number: mine,
      title: "mine",
      head_ref: "agent/x",
      state: "open",
    });
    const [asked] = apiRequestsSince(test, from);
    expect(asked?.query.get("head")).toBe(`${OWNER}:agent/x`);
    expect(asked?.query.get("state")).toBe("open");
    expect(await forge.findOpenPullRequest("agent/none")).toBeNull();
    expect(forge.requestCount).toBe(2);
    const { octokit, checked } = checkedOctokit(test);
    for (const head of ["agent/x", "agent/none"]) {
      await octokit.rest.pulls.list({
        owner: OWNER,
        repo: REPO,
        state: "open",
        head: `${OWNER}:${head}`,
      });
    }
    expect(checked()).toBe(2);
  });

  it("names each PR's head repository, a fork's for a PR from a fork, in replies GitHub could send", async () => {
    const test = await setup();
    const clone = await cloneRepo(test);
    await pushBranch(test, clone, "agent/x", { "docs/own.md": "own\n" });
    await pushToFork(test, clone, "mallory", "agent/x", { "docs/fork.md": "fork\n" });
    const own = await openPull(test, "agent/x", "own");
    const fork = await openPull(
      test,
      "mallory:agent/x",
      "from a fork",
      "<!-- leviathan: target=radix task=t1 attempt=a1 -->",
    );
    const { forge } = productionClient(test);
    const open = await forge.listOpenPullRequests();
    expect(
      open
        .map((pull) => [pull.number, pull.head_ref, pull.head_repo])
        .sort((a, b) => Number(a[0]) - Number(b[0])),
    ).toEqual([
      [own, "agent/x", `${OWNER}/${REPO}`],
      [fork, "agent/x", `mallory/${REPO}`],
    ]);
    expect((await forge.getPullRequest(fork)).head_repo).toBe(`mallory/${REPO}`);
    // The list itself, checked against GitHub's description by api().
    const listed = (await api(test, "GET", PULLS)).body as Array<{ number: number }>;
    expect(listed.find((pull) => pull.number === fork)).toMatchObject({
      head: {
        label: "mallory:agent/x",
        user: { login: "mallory" },
        // The local forge's fork is a repository of its own, not flagged `fork` as on GitHub.
        repo: { full_name: `mallory/${REPO}`, owner: { login: "mallory" } },
      },
      base: { repo: { full_name: `${OWNER}/${REPO}`, fork: false } },
    });
    const { octokit, checked } = checkedOctokit(test);
    await octokit.rest.pulls.get({ owner: OWNER, repo: REPO, pull_number: fork });
    expect(checked()).toBe(1);
  });

  it("never takes a fork's same-named branch for the open PR of a branch", async () => {
    const test = await setup();
    const clone = await cloneRepo(test);
    await pushToFork(test, clone, "mallory", "agent/x", { "docs/fork.md": "fork\n" });
    await openPull(test, "mallory:agent/x", "from a fork");
    const { forge } = productionClient(test);
    // The forge filters by `head=acme:agent/x` as GitHub does: nothing.
    expect(await forge.findOpenPullRequest("agent/x")).toBeNull();
    // A forge that ignores `head` lists the fork's PR anyway (as GitHub lists it): still not ours.
    const unfiltered = await api(test, "GET", `${PULLS}?state=open`);
    expect(unfiltered.body).toHaveLength(1);
    test.forge.faults.add({
      method: "GET",
      path: /\/pulls\?.*head=/,
      status: 200,
      body: unfiltered.body,
      times: 1,
    });
    expect(await forge.findOpenPullRequest("agent/x")).toBeNull();
    expect(forge.requestCount).toBe(2);
  });

  it("reads one PR, merged or closed, as the tick needs it to record the outcome", async () => {
    const test = await setup();
    const clone = await cloneRepo(test);
    await pushBranch(test, clone, "agent/a", { "docs/a.md": "a\n" });
    await pushBranch(test, clone, "agent/b", { "docs/b.md": "b\n" });
    const done = await openPull(test, "agent/a", "done", "b");
    const dropped = await openPull(test, "agent/b", "dropped", "b");
    await test.forge.mergePullRequest(OWNER, REPO, done);
    await closePull(test, dropped);
    const { forge } = productionClient(test);
    expect(await forge.getPullRequest(done)).toMatchObject({
      number: done,
      state: "closed",
      merged: true,
    });
    expect(await forge.getPullRequest(dropped)).toMatchObject({
      number: dropped,
      state: "closed",
      merged: false,
    });
    const missing = Math.max(done, dropped) + 1;
    await expect(forge.getPullRequest(missing)).rejects.toMatchObject({
      name: "ForgeUnavailableError",
      status: 404,
    });
    const { octokit, checked } = checkedOctokit(test);
    for (const pull_number of [done, dropped, missing]) {
      await octokit.rest.pulls.get({ owner: OWNER, repo: REPO, pull_number }).catch(() => {});
    }
    expect(checked()).toBe(3);
  });

  it("creates a PR, and a second one for the same head is a PullRequestRejectedError", async () => {
    const test = await setup();
    const clone = await cloneRepo(test);
    await pushBranch(test, clone, "agent/docs-attempt-1", { "docs/a.md": "a\n" });
    const { forge } = productionClient(test);
    const request = { title: "Task 1", body: "body", head: "agent/docs-attempt-1", base: "main" };
    const from = test.forge.requests.length;
    const created = await forge.createPullRequest(request);
    expect(created).toMatchObject({
      number: expect.any(Number),
      state: "open",
      merged: false,
      title: "Task 1",
      body: "body",
      head_ref: "agent/docs-attempt-1",
      base_ref: "main",
    });
    expect(apiRequestsSince(test, from).map((r) => [r.method, r.pathname, r.status])).toEqual([
      ["POST", `/api/v3${PULLS}`, 201],
    ]);
    // What was asked is what the forge now holds.
    expect((await api(test, "GET", `${PULLS}/${created.number}`)).body).toMatchObject({
      title: request.title,
      body: request.body,
      head: { ref: request.head },
      base: { ref: request.base },
    });
    const error = await forge.createPullRequest(request).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PullRequestRejectedError);
    expect(error).toMatchObject({ status: 422, alreadyExists: true });
    expect(errorMessage(error)).toMatch(/already exists/);
    expect(errorMessage(error)).not.toContain(test.token);
    expect((await api(test, "GET", `${PULLS}?state=all`)).body).toHaveLength(1);
    // A refusal is an answer, not a fault to retry.
    expect(forge.requestCount).toBe(2);
    const { octokit, checked } = checkedOctokit(test);
    await octokit.rest.pulls.create({ owner: OWNER, repo: REPO, ...request }).catch(() => {});
    expect(checked()).toBe(1);
  });
});
