import { describe, expect, it } from "vitest";
import { createGitHubForge } from "../../shared/forge/github/create-github-forge.ts";
import {
  api,
  basicHeader,
  checkedOctokit,
  cloneRepo,
  git,
  OWNER,
  openPull,
  pushBranch,
  REPO,
  useTestForge,
} from "../support/forge-fixtures.ts";

const setup = useTestForge();

const PULLS = `/repos/${OWNER}/${REPO}/pulls`;
const BAD_CREDENTIALS = {
  message: "Bad credentials",
  documentation_url: "https://docs.github.com/rest",
};

interface Pull {
  number: number;
  state: string;
  title: string;
  body: string | null;
  html_url: string;
  merged: boolean;
  mergeable: boolean | null;
  head: { ref: string; sha: string; label: string };
  base: { ref: string; sha: string };
  closed_at: string | null;
  commits: number;
  additions: number;
  deletions: number;
  changed_files: number;
}

function rateLimited(headers: Headers): void {
  expect(headers.get("x-ratelimit-limit")).toBe("5000");
  expect(Number(headers.get("x-ratelimit-remaining"))).toBeLessThan(5000);
  expect(Number(headers.get("x-ratelimit-reset"))).toBeGreaterThan(Date.now() / 1000);
  expect(Number(headers.get("x-ratelimit-used"))).toBeGreaterThan(0);
  expect(headers.get("x-ratelimit-resource")).toBe("core");
}

describe("local forge REST: tokens and repositories", () => {
  it("refuses a request without the token or with a wrong one as GitHub does", async () => {
    const test = await setup();
    for (const authorization of [null, "token wrong-token", `Basic ${test.token}`, "Bearer"]) {
      const reply = await api(test, "GET", `/repos/${OWNER}/${REPO}`, {
        authorization,
        undocumented: true,
      });
      expect(reply.status).toBe(401);
      expect(reply.body).toEqual(BAD_CREDENTIALS);
      rateLimited(reply.headers);
    }
    for (const authorization of [
      `token ${test.token}`,
      `Bearer ${test.token}`,
      `bearer ${test.token}`,
    ]) {
      expect((await api(test, "GET", `/repos/${OWNER}/${REPO}`, { authorization })).status).toBe(
        200,
      );
    }
  });

  it("describes the repository and answers 404 for one it does not have", async () => {
    const test = await setup();
    const reply = await api(test, "GET", `/repos/${OWNER}/${REPO}`);
    expect(reply.status).toBe(200);
    rateLimited(reply.headers);
    expect(reply.body).toMatchObject({
      name: REPO,
      full_name: `${OWNER}/${REPO}`,
      default_branch: "main",
      clone_url: test.forge.gitUrl(OWNER, REPO),
      owner: { login: OWNER },
    });
    const missing = await api(test, "GET", `/repos/${OWNER}/nothing-here`);
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({
      message: "Not Found",
      documentation_url: "https://docs.github.com/rest",
    });
    // An unknown route is a 404 in GitHub's shape too.
    const route = await api(test, "GET", `/repos/${OWNER}/${REPO}/no-such-thing`, {
      undocumented: true,
    });
    expect(route.status).toBe(404);
    expect(route.body).toMatchObject({ message: "Not Found" });
  });
});

describe("local forge REST: pull requests", () => {
  it("opens a PR from a pushed branch, with git's numbers, and reads it back", async () => {
    const test = await setup();
    const clone = await cloneRepo(test);
    const sha = await pushBranch(test, clone, "agent/docs-attempt-1", {
      "docs/new.md": "one\ntwo\n",
      "README.md": "changed\n",
    });
    const mainSha = await git(["rev-parse", "origin/main"], clone);
    const created = await api(test, "POST", PULLS, {
      body: {
        title: "Add docs",
        body: "Why\n<!-- marker -->",
        head: "agent/docs-attempt-1",
        base: "main",
      },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get("location")).toBe(`${test.forge.apiUrl}${PULLS}/1`);
    const pull = created.body as Pull;
    expect(pull).toMatchObject({
      number: 1,
      state: "open",
      title: "Add docs",
      body: "Why\n<!-- marker -->",
      html_url: `${test.forge.url}/${OWNER}/${REPO}/pull/1`,
      merged: false,
      mergeable: true,
      head: { ref: "agent/docs-attempt-1", sha, label: `${OWNER}:agent/docs-attempt-1` },
      base: { ref: "main", sha: mainSha },
      commits: 1,
      additions: 3,
      deletions: 1,
      changed_files: 2,
    });
    const read = await api(test, "GET", `${PULLS}/1`);
    expect(read.body).toEqual(pull);
    // A push to the branch moves the open PR's head.
    const moved = await pushBranch(
      test,
      clone,
      "agent/docs-attempt-1",
      { "docs/more.md": "x\n" },
      "HEAD",
    );
    expect(((await api(test, "GET", `${PULLS}/1`)).body as Pull).head.sha).toBe(moved);
    expect(((await api(test, "GET", `${PULLS}/1`)).body as Pull).commits).toBe(2);
    // `owner:branch` works as the head too, and numbers go on.
    await pushBranch(test, clone, "feature/other", { "docs/other.md": "o\n" });
    expect(await openPull(test, `${OWNER}:feature/other`)).toBe(2);
    expect((await api(test, "GET", `${PULLS}/3`)).status).toBe(404);
    expect((await api(test, "GET", `${PULLS}/abc`, { undocumented: true })).status).toBe(404);
  });

  it("refuses, with GitHub's 422 errors, a second open PR for a head and heads or bases that do not exist", async () => {
    const test = await setup();
    const clone = await cloneRepo(test);
    await pushBranch(test, clone, "agent/a", { "docs/a.md": "a\n" });
    await openPull(test, "agent/a");
    const refuse = async (body: Record<string, unknown>) => {
      const reply = await api(test, "POST", PULLS, { body });
      expect(reply.status).toBe(422);
      expect((reply.body as { message: string }).message).toBe("Validation Failed");
      return (reply.body as { errors: unknown[] }).errors;
    };
    expect(await refuse({ title: "again", head: "agent/a", base: "main" })).toEqual([
      {
        resource: "PullRequest",
        code: "custom",
        message: `A pull request already exists for ${OWNER}:agent/a.`,
      },
    ]);
    expect(await refuse({ title: "again", head: `${OWNER}:agent/a`, base: "main" })).toHaveLength(
      1,
    );
    expect(await refuse({ title: "t", head: "agent/missing", base: "main" })).toEqual([
      { resource: "PullRequest", field: "head", code: "invalid" },
    ]);
    expect(await refuse({ title: "t", head: "someone-else:agent/a", base: "main" })).toEqual([
      { resource: "PullRequest", field: "head", code: "invalid" },
    ]);
    expect(await refuse({ title: "t", head: "agent/a", base: "nope" })).toEqual([
      { resource: "PullRequest", field: "base", code: "invalid" },
    ]);
    expect(await refuse({ head: "agent/a", base: "main" })).toEqual([
      { resource: "PullRequest", field: "title", code: "missing_field" },
    ]);
    // A branch with nothing the base lacks.
    await git(
      [
        "-c",
        `http.extraHeader=${basicHeader(test.token)}`,
        "push",
        "-q",
        "origin",
        "origin/main:refs/heads/same",
      ],
      clone,
    );
    expect(await refuse({ title: "t", head: "same", base: "main" })).toEqual([
      { resource: "PullRequest", code: "custom", message: "No commits between main and same" },
    ]);
    const broken = await api(test, "POST", PULLS, { body: "{not json", undocumented: true });
    expect(broken.status).toBe(400);
    expect(broken.body).toMatchObject({ message: "Problems parsing JSON" });
    // Nothing refused took a number.
    const list = (await api(test, "GET", `${PULLS}?state=all`)).body as Pull[];
    expect(list.map((pull) => pull.number)).toEqual([1]);
  });

  it("opens one PR when several requests for the same head race", async () => {
    const test = await setup();
    const clone = await cloneRepo(test);
    await pushBranch(test, clone, "agent/race", { "docs/race.md": "r\n" });
    const replies = await Promise.all(
      Array.from({ length: 6 }, () =>
        api(test, "POST", PULLS, { body: { title: "Race", head: "agent/race", base: "main" } }),
      ),
    );
    expect(replies.map((reply) => reply.status).sort()).toEqual([201, 422, 422, 422, 422, 422]);
    const list = (await api(test, "GET", `${PULLS}?state=all`)).body as Pull[];
    expect(list.map((pull) => pull.number)).toEqual([1]);
  });

  it("edits, closes and reopens a PR; the state filter follows", async () => {
    const test = await setup();
    const clone = await cloneRepo(test);
    await pushBranch(test, clone, "agent/a", { "docs/a.md": "a\n" });
    await openPull(test, "agent/a");
    const edited = await api(test, "PATCH", `${PULLS}/1`, {
      body: { title: "New title", body: null },
    });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ title: "New title", body: null, state: "open" });
    const closed = await api(test, "PATCH", `${PULLS}/1`, { body: { state: "closed" } });
    expect(closed.body).toMatchObject({ state: "closed", merged: false, mergeable: null });
    expect((closed.body as Pull).closed_at).not.toBeNull();
    const numbers = async (query: string) =>
      ((await api(test, "GET", `${PULLS}${query}`)).body as Pull[]).map((pull) => pull.number);
    expect(await numbers("")).toEqual([]);
    expect(await numbers("?state=closed")).toEqual([1]);
    expect(await numbers("?state=all")).toEqual([1]);
    // While it is closed another PR may use the head; then reopening the first is refused.
    await openPull(test, "agent/a");
    const reopen = await api(test, "PATCH", `${PULLS}/1`, { body: { state: "open" } });
    expect(reopen.status).toBe(422);
    await api(test, "PATCH", `${PULLS}/2`, { body: { state: "closed" } });
    const reopened = await api(test, "PATCH", `${PULLS}/1`, { body: { state: "open" } });
    expect(reopened.body).toMatchObject({ state: "open", closed_at: null });
    expect((await api(test, "PATCH", `${PULLS}/1`, { body: { state: "merged" } })).status).toBe(
      422,
    );
    // GitHub documents no 404 for this operation, though it answers one.
    const missing = await api(test, "PATCH", `${PULLS}/9`, {
      body: { title: "x" },
      undocumented: true,
    });
    expect(missing).toMatchObject({ status: 404, body: { message: "Not Found" } });
    expect((await api(test, "GET", `${PULLS}?state=weird`)).status).toBe(422);
  });

  it("pages 150 PRs with GitHub's Link headers, filters by head and base, and sorts", async () => {
    const test = await setup();
    const clone = await cloneRepo(test);
    await pushBranch(test, clone, "seed", { "docs/seed.md": "seed\n" });
    // 150 branches on one commit the base lacks, pushed at once: half agent heads, half not.
    const heads = Array.from({ length: 150 }, (_, i) =>
      i % 2 === 0 ? `agent/backlog-propose-attempt-t${i}-0000000${i % 10}` : `feature/f${i}`,
    );
    await git(
      [
        "-c",
        `http.extraHeader=${basicHeader(test.token)}`,
        "push",
        "-q",
        "origin",
        ...heads.map((h) => `seed:refs/heads/${h}`),
      ],
      clone,
    );
    // Ten at a time: the forge numbers them in the order it takes them, one at a time.
    for (let at = 0; at < heads.length; at += 10) {
      await Promise.all(heads.slice(at, at + 10).map((head) => openPull(test, head)));
    }

    const first = await api(test, "GET", `${PULLS}?per_page=100`);
    const url = `${test.forge.apiUrl}${PULLS}`;
    expect((first.body as Pull[]).map((pull) => pull.number)).toEqual(
      Array.from({ length: 100 }, (_, i) => 150 - i),
    );
    expect(first.headers.get("link")).toBe(
      `<${url}?per_page=100&page=2>; rel="next", <${url}?per_page=100&page=2>; rel="last"`,
    );
    const second = await api(test, "GET", `${PULLS}?per_page=100&page=2`);
    expect((second.body as Pull[]).map((pull) => pull.number)).toEqual(
      Array.from({ length: 50 }, (_, i) => 50 - i),
    );
    expect(second.headers.get("link")).toBe(
      `<${url}?per_page=100&page=1>; rel="prev", <${url}?per_page=100&page=1>; rel="first"`,
    );
    // Default page size 30; other parameters are kept in the links; per_page over 100 is 100.
    const middle = await api(test, "GET", `${PULLS}?state=open&page=3`);
    expect((middle.body as Pull[]).map((pull) => pull.number)[0]).toBe(90);
    expect(middle.headers.get("link")).toBe(
      [
        `<${url}?state=open&page=2&per_page=30>; rel="prev"`,
        `<${url}?state=open&page=4&per_page=30>; rel="next"`,
        `<${url}?state=open&page=5&per_page=30>; rel="last"`,
        `<${url}?state=open&page=1&per_page=30>; rel="first"`,
      ].join(", "),
    );
    expect(((await api(test, "GET", `${PULLS}?per_page=500`)).body as Pull[]).length).toBe(100);
    expect(((await api(test, "GET", `${PULLS}?page=9`)).body as Pull[]).length).toBe(0);
    const ascending = await api(test, "GET", `${PULLS}?direction=asc&per_page=2`);
    expect((ascending.body as Pull[]).map((pull) => pull.number)).toEqual([1, 2]);

    const head = heads[6]!;
    const filtered = await api(
      test,
      "GET",
      `${PULLS}?head=${encodeURIComponent(`${OWNER}:${head}`)}`,
    );
    expect((filtered.body as Pull[]).map((pull) => pull.head.ref)).toEqual([head]);
    expect(filtered.headers.get("link")).toBeNull();
    expect((await api(test, "GET", `${PULLS}?head=other:${head}`)).body).toEqual([]);
    expect((await api(test, "GET", `${PULLS}?base=main&per_page=1`)).headers.get("link")).toContain(
      'page=150>; rel="last"',
    );
    expect((await api(test, "GET", `${PULLS}?base=develop`)).body).toEqual([]);
    // GitHub ignores a head without its owner; so does the forge.
    expect(
      ((await api(test, "GET", `${PULLS}?head=${head}&per_page=100`)).body as Pull[]).length,
    ).toBe(100);

    // Octokit follows the Link headers; the production client sees every open PR.
    const { octokit, checked } = checkedOctokit(test);
    const all = await octokit.paginate(octokit.rest.pulls.list, {
      owner: OWNER,
      repo: REPO,
      per_page: 100,
    });
    expect(new Set(all.map((pull) => pull.number)).size).toBe(150);
    expect(checked()).toBe(2);
    const forge = createGitHubForge({
      apiUrl: test.forge.apiUrl,
      owner: OWNER,
      repo: REPO,
      token: test.token,
    });
    const open = await forge.listOpenPullRequests();
    expect(open).toHaveLength(150);
    expect(open.filter((pull) => pull.head_ref.startsWith("agent/"))).toHaveLength(75);
    expect(await forge.findOpenPullRequest(head)).toMatchObject({ head_ref: head, state: "open" });
    expect(await forge.findOpenPullRequest("agent/none")).toBeNull();
  });
});

describe("local forge REST through Octokit", () => {
  it("serves the client production code uses: create, find, read, update, merge, contents", async () => {
    const test = await setup({ ".leviathan/backlog.yaml": "tasks: []\n", "README.md": "r\n" });
    const clone = await cloneRepo(test);
    await pushBranch(test, clone, "agent/backlog-propose-attempt-x-00000001", {
      ".leviathan/backlog.yaml": "tasks: [] # done\n",
    });
    const { octokit, checked } = checkedOctokit(test);
    const repo = await octokit.rest.repos.get({ owner: OWNER, repo: REPO });
    expect(repo.data.default_branch).toBe("main");
    const created = await octokit.rest.pulls.create({
      owner: OWNER,
      repo: REPO,
      title: "Propose",
      body: "body",
      head: "agent/backlog-propose-attempt-x-00000001",
      base: "main",
    });
    expect(created.status).toBe(201);
    expect(created.data.number).toBe(1);
    const duplicate = await octokit.rest.pulls
      .create({
        owner: OWNER,
        repo: REPO,
        title: "again",
        head: created.data.head.ref,
        base: "main",
      })
      .catch((error: { status: number }) => error);
    expect(duplicate).toMatchObject({ status: 422 });
    const got = await octokit.rest.pulls.get({ owner: OWNER, repo: REPO, pull_number: 1 });
    expect(got.data.head.sha).toBe(created.data.head.sha);
    const updated = await octokit.rest.pulls.update({
      owner: OWNER,
      repo: REPO,
      pull_number: 1,
      body: "new body",
    });
    expect(updated.data.body).toBe("new body");
    const listed = await octokit.rest.pulls.list({
      owner: OWNER,
      repo: REPO,
      head: `${OWNER}:${created.data.head.ref}`,
    });
    expect(listed.data.map((pull) => pull.number)).toEqual([1]);
    const file = await octokit.rest.repos.getContent({
      owner: OWNER,
      repo: REPO,
      path: ".leviathan/backlog.yaml",
      ref: "main",
    });
    expect(Buffer.from((file.data as { content: string }).content, "base64").toString()).toBe(
      "tasks: []\n",
    );
    const merged = await octokit.rest.pulls.merge({ owner: OWNER, repo: REPO, pull_number: 1 });
    expect(merged.data.merged).toBe(true);
    const again = await octokit.rest.pulls
      .merge({ owner: OWNER, repo: REPO, pull_number: 1 })
      .catch((error: { status: number }) => error);
    expect(again).toMatchObject({ status: 405 });
    expect(checked()).toBe(9);

    // The Forge production code calls, against the same repository.
    const forge = createGitHubForge({
      apiUrl: test.forge.apiUrl,
      owner: OWNER,
      repo: REPO,
      token: test.token,
    });
    expect(await forge.getPullRequest(1)).toMatchObject({
      number: 1,
      state: "closed",
      merged: true,
    });
    expect(await forge.readFile(".leviathan/backlog.yaml", "main")).toBe("tasks: [] # done\n");
    expect(await forge.readFile("nothing.md", "main")).toBeNull();
    await pushBranch(test, clone, "agent/second", { "docs/x.md": "x\n" });
    const second = await forge.createPullRequest({
      title: "Second",
      body: "b",
      head: "agent/second",
      base: "main",
    });
    expect(second).toMatchObject({
      number: 2,
      state: "open",
      merged: false,
      head_ref: "agent/second",
      base_ref: "main",
      html_url: `${test.forge.url}/${OWNER}/${REPO}/pull/2`,
    });
    // (A second create through this client would wait out Octokit's 3 s pacing of requests that
    // notify people; the 422 it would get is checked above through fetch and Octokit.)
  });
});
