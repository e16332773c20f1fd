import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createGitHubForge } from "../../shared/forge/github/create-github-forge.ts";
import { startLocalForge } from "../../shared/forge/local/start-local-forge.ts";
import type { LocalForge } from "../../shared/forge/local/types.ts";
import { captureLogger } from "../support/capture-logger.ts";
import {
  api,
  basicHeader,
  cloneRepo,
  git,
  OWNER,
  openPull,
  pushBranch,
  REPO,
  runGit,
  startTestForge,
  type TestForge,
  writeFiles,
} from "../support/forge-fixtures.ts";

let test: TestForge | undefined;
const extra: LocalForge[] = [];
const folders: string[] = [];

afterEach(async () => {
  for (const forge of extra.splice(0)) await forge.close();
  await test?.cleanup();
  test = undefined;
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
});

const PULLS = `/repos/${OWNER}/${REPO}/pulls`;

describe("local forge: state on disk", () => {
  it("continues after a restart: PRs, their states and numbering, and the repositories", async () => {
    test = await startTestForge();
    const clone = await cloneRepo(test);
    await pushBranch(test, clone, "agent/a", { "docs/a.md": "a\n" });
    await pushBranch(test, clone, "agent/b", { "docs/b.md": "b\n" });
    await openPull(test, "agent/a", "First", "body <!-- marker -->");
    await openPull(test, "agent/b", "Second");
    await test.forge.mergePullRequest(OWNER, REPO, 1);
    const before = (await api(test, "GET", `${PULLS}?state=all`)).body as { number: number }[];
    const oldUrl = test.forge.url;
    await test.forge.close();
    // Every write was a rename of a synced file: nothing half-written is left behind.
    const stateFiles = await readdir(join(test.root, "state", OWNER));
    expect(stateFiles).toEqual([`${REPO}.json`]);

    const restarted = await startLocalForge({ root: test.root, token: test.token });
    test.forge = restarted;
    expect(restarted.url).not.toBe(oldUrl);
    const after = (await api(test, "GET", `${PULLS}?state=all`)).body as {
      number: number;
      html_url: string;
    }[];
    expect(after.map((pull) => pull.number)).toEqual(before.map((pull) => pull.number));
    expect(after[0]?.html_url).toBe(`${restarted.url}/${OWNER}/${REPO}/pull/2`);
    expect((await api(test, "GET", `${PULLS}/1`)).body).toMatchObject({
      merged: true,
      state: "closed",
      body: "body <!-- marker -->",
    });
    expect((await api(test, "GET", `${PULLS}/2`)).body).toMatchObject({ state: "open" });
    expect(await restarted.createRepository(OWNER, REPO)).toEqual({ created: false });

    const fresh = await cloneRepo(test, "fresh");
    expect(await git(["show", "HEAD:docs/a.md"], fresh)).toBe("a");
    await pushBranch(test, fresh, "agent/c", { "docs/c.md": "c\n" });
    expect(await openPull(test, "agent/c")).toBe(3);
  });

  it("creates a repository from a folder once; a second call changes nothing", async () => {
    const root = await mkdtemp(join(tmpdir(), "forge-create-"));
    folders.push(root);
    const forge = await startLocalForge({ root: join(root, "forge"), token: "create-token" });
    extra.push(forge);
    await writeFiles(join(root, "first"), {
      ".leviathan/backlog.yaml": "tasks: []\n",
      "docs/readme.md": "first\n",
      ".gitignore": "ignored.log\n",
      "ignored.log": "never committed\n",
    });
    await writeFiles(join(root, "second"), { "other.md": "second\n" });
    expect(
      await forge.createRepository("team", "target", {
        fromDir: join(root, "first"),
        defaultBranch: "trunk",
      }),
    ).toEqual({ created: true });
    expect(
      await forge.createRepository("team", "target", { fromDir: join(root, "second") }),
    ).toEqual({ created: false });

    const clone = join(root, "clone");
    await git(
      [
        "-c",
        `http.extraHeader=${basicHeader("create-token")}`,
        "clone",
        "-q",
        forge.gitUrl("team", "target"),
        clone,
      ],
      root,
    );
    expect(await git(["branch", "--show-current"], clone)).toBe("trunk");
    expect((await git(["ls-files"], clone)).split("\n")).toEqual([
      ".gitignore",
      ".leviathan/backlog.yaml",
      "docs/readme.md",
    ]);
    expect(await git(["rev-list", "--count", "HEAD"], clone)).toBe("1");
    const repo = await fetch(`${forge.apiUrl}/repos/team/target`, {
      headers: { authorization: "token create-token" },
    });
    expect(await repo.json()).toMatchObject({ default_branch: "trunk" });

    // Without a folder: an empty repository that a first push fills.
    expect(await forge.createRepository("team", "empty")).toEqual({ created: true });
    await git(
      [
        "-c",
        `http.extraHeader=${basicHeader("create-token")}`,
        "push",
        "-q",
        forge.gitUrl("team", "empty"),
        "HEAD:refs/heads/main",
      ],
      clone,
    );
    const state = JSON.parse(
      await readFile(join(root, "forge", "state", "team", "empty.json"), "utf8"),
    );
    expect(state).toMatchObject({ default_branch: "main", next_number: 1, pulls: [] });

    await expect(forge.createRepository("team", "../escape")).rejects.toThrow(/not a valid/);
    await expect(forge.createRepository("team", "x", { defaultBranch: "-bad" })).rejects.toThrow();
  });
});

describe("local forge: injected faults and the request log", () => {
  it("answers the next matching requests with the fault, then normally again", async () => {
    test = await startTestForge();
    const outage = test.forge.faults.add({
      method: "GET",
      path: /\/pulls(\?|$)/,
      status: 502,
      times: 2,
    });
    for (let n = 0; n < 2; n++) {
      const reply = await api(test, "GET", PULLS, { undocumented: true });
      expect(reply.status).toBe(502);
      expect(reply.body).toEqual({
        message: "Bad Gateway",
        documentation_url: "https://docs.github.com/rest",
      });
      expect(reply.headers.get("x-ratelimit-limit")).toBe("5000");
    }
    expect(outage).toMatchObject({ used: 2, remaining: 0 });
    expect((await api(test, "GET", PULLS)).status).toBe(200);
    // Another method on the same path was never affected.
    test.forge.faults.add({ method: "POST", path: /\/pulls$/, status: 500, times: 1 });
    expect((await api(test, "GET", PULLS)).status).toBe(200);

    test.forge.faults.add({
      path: /\/repos\/acme\/demo$/,
      status: 403,
      headers: { "x-ratelimit-remaining": "0", "retry-after": "0" },
      body: { message: "API rate limit exceeded" },
      times: 1,
    });
    const limited = await api(test, "GET", `/repos/${OWNER}/${REPO}`);
    expect(limited.status).toBe(403);
    expect(limited.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(limited.body).toEqual({ message: "API rate limit exceeded" });

    // A connection cut before any reply.
    test.forge.faults.add({ path: /contents/, status: 0, reset: true, times: 1 });
    await expect(
      fetch(`${test.forge.apiUrl}/repos/${OWNER}/${REPO}/contents/README.md`, {
        headers: { authorization: `token ${test.token}` },
      }),
    ).rejects.toThrow();

    // Git requests too: a clone during an outage fails, the next one works.
    test.forge.faults.add({ path: /info\/refs/, status: 503, body: "down\n", times: 1 });
    const failed = await runGit(
      [
        "-c",
        `http.extraHeader=${basicHeader(test.token)}`,
        "clone",
        "-q",
        test.forge.gitUrl(OWNER, REPO),
        "down",
      ],
      test.scratch,
    );
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain("503");
    await cloneRepo(test);

    // Faults are in-process only: nothing over HTTP reaches them.
    expect((await fetch(`${test.forge.url}/faults`, { method: "POST" })).status).toBe(404);
    test.forge.faults.add({ path: /./, status: 500, times: 5 });
    test.forge.faults.clear();
    expect((await api(test, "GET", PULLS)).status).toBe(200);
  });

  it("lets the production client retry through a passing outage", async () => {
    test = await startTestForge();
    const outage = test.forge.faults.add({ path: /\/pulls\?/, status: 502, times: 1 });
    const forge = createGitHubForge({
      apiUrl: test.forge.apiUrl,
      owner: OWNER,
      repo: REPO,
      token: test.token,
      retryBaseDelayMs: 1,
    });
    expect(await forge.listOpenPullRequests()).toEqual([]);
    expect(outage.used).toBe(1);
    expect(forge.requestCount).toBe(2);
    const statuses = test.forge.requests
      .filter((r) => r.path.includes("/pulls?"))
      .map((r) => r.status);
    expect(statuses).toEqual([502, 200]);
  });

  it("records every request, and never logs the token", async () => {
    const { logger, lines } = captureLogger();
    const root = await mkdtemp(join(tmpdir(), "forge-log-"));
    folders.push(root);
    const token = `secret-${randomBytes(12).toString("hex")}`;
    const forge = await startLocalForge({ root, token, logger });
    extra.push(forge);
    await writeFiles(join(root, "src"), { "README.md": "r\n" });
    await forge.createRepository(OWNER, REPO, { fromDir: join(root, "src") });
    const headers = { authorization: `token ${token}` };
    await fetch(`${forge.apiUrl}/repos/${OWNER}/${REPO}`, { headers });
    await fetch(`${forge.apiUrl}/repos/${OWNER}/${REPO}`, {
      headers: { authorization: "token nope" },
    });
    const clone = join(root, "clone");
    await git(
      [
        "-c",
        `http.extraHeader=${basicHeader(token)}`,
        "clone",
        "-q",
        forge.gitUrl(OWNER, REPO),
        clone,
      ],
      root,
    );
    await runGit(["push", "origin", "HEAD:refs/heads/x"], clone);

    expect(forge.requests.map(({ method, status }) => `${method} ${status}`)).toEqual([
      "GET 200",
      "GET 401",
      "GET 200",
      "POST 200",
      "POST 200",
      "GET 401",
    ]);
    expect(forge.requests[0]?.path).toBe(`/api/v3/repos/${OWNER}/${REPO}`);
    expect(lines.length).toBeGreaterThan(3);
    const everything = lines.join("\n");
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(Buffer.from(`x-access-token:${token}`).toString("base64"));
  });
});
