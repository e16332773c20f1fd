import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAppAuth } from "@octokit/auth-app";
import { Octokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalForge } from "../../shared/forge/local/start-local-forge.ts";
import {
  type ApiReply,
  api,
  basicHeader,
  runGit,
  type TestForge,
  writeFiles,
} from "../support/forge-fixtures.ts";
import {
  appKeyPair,
  goodClaims,
  installTestApp,
  signJwt,
  type TestApp,
} from "../support/github-app-fixtures.ts";

const OWNER = "acme";
let test: TestForge;
let app: TestApp;
/** The forge's clock runs this far ahead of the machine's. */
let offsetMs = 0;

beforeAll(async () => {
  const scratch = await mkdtemp(join(tmpdir(), "forge-app-"));
  const token = "forge-owner-token-0123456789";
  const forge = await startLocalForge({
    root: join(scratch, "root"),
    token,
    now: () => new Date(Date.now() + offsetMs),
  });
  await writeFiles(join(scratch, "source"), { "README.md": "demo\n" });
  for (const repo of ["demo", "other"]) {
    await forge.createRepository(OWNER, repo, { fromDir: join(scratch, "source") });
  }
  await forge.createRepository("elsewhere", "demo", { fromDir: join(scratch, "source") });
  test = {
    forge,
    root: join(scratch, "root"),
    token,
    scratch,
    cleanup: async () => {
      await forge.close();
      await rm(scratch, { recursive: true, force: true });
    },
  };
  app = installTestApp(forge, OWNER, {
    permissions: { contents: "write", pull_requests: "write", metadata: "read" },
  });
});

afterAll(async () => {
  await test.cleanup();
});

const jwt = () => signJwt(app.privateKey, goodClaims(app.appId));

async function mint(body: unknown): Promise<ApiReply> {
  return api(test, "POST", `/app/installations/${app.installationId}/access_tokens`, {
    authorization: `Bearer ${jwt()}`,
    body,
  });
}

async function mintToken(body: unknown): Promise<string> {
  const reply = await mint(body);
  expect(reply.status).toBe(201);
  return (reply.body as { token: string }).token;
}

/** `git ls-remote` (a fetch's first step) or a push of a new branch, with `token`. */
async function gitAs(token: string, repo: string, action: "fetch" | "push", owner = OWNER) {
  const url = test.forge.gitUrl(owner, repo);
  const auth = ["-c", `http.extraHeader=${basicHeader(token)}`];
  if (action === "fetch") return runGit([...auth, "ls-remote", url], test.scratch);
  const dir = await mkdtemp(join(test.scratch, "push-"));
  const init = await runGit(["init", "-q", "-b", "main", dir], test.scratch);
  expect(init.code).toBe(0);
  await writeFiles(dir, { "x.md": `${Math.random()}\n` });
  await runGit(["add", "x.md"], dir);
  await runGit(["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "x"], dir);
  return runGit([...auth, "push", "-q", url, `HEAD:refs/heads/agent/${Date.now()}`], dir);
}

describe("local forge: GitHub App JWTs", () => {
  it("GET /app with the App's JWT; the reply is GitHub's integration", async () => {
    const reply = await api(test, "GET", "/app", { authorization: `Bearer ${jwt()}` });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ id: app.appId });
    // GitHub also takes the App's client id as the issuer.
    const clientId = (reply.body as { client_id: string }).client_id;
    const byClientId = await api(test, "GET", "/app", {
      authorization: `Bearer ${signJwt(app.privateKey, { ...goodClaims(app.appId), iss: clientId })}`,
    });
    expect(byClientId.status).toBe(200);
  });

  it("refuses a JWT signed by another key, with alg none, too long, expired, from the future or for an unknown App", async () => {
    const other = appKeyPair();
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(
      JSON.stringify(goodClaims(app.appId)),
    ).toString("base64url")}.x`;
    const bad = [
      signJwt(other.privateKey, goodClaims(app.appId)),
      unsigned,
      signJwt(app.privateKey, { iat: now - 30, exp: now + 3600, iss: app.appId }),
      signJwt(app.privateKey, { iat: now - 700, exp: now - 100, iss: app.appId }),
      signJwt(app.privateKey, { iat: now + 300, exp: now + 500, iss: app.appId }),
      signJwt(app.privateKey, { ...goodClaims(app.appId), iss: 999_999 }),
      signJwt(app.privateKey, goodClaims(app.appId), { alg: "HS256", typ: "JWT" }),
    ];
    for (const token of bad) {
      const reply = await api(test, "GET", "/app", {
        authorization: `Bearer ${token}`,
        undocumented: true,
      });
      expect(reply.status).toBe(401);
    }
    const tooLong = await api(test, "GET", "/app", {
      authorization: `Bearer ${bad[2]}`,
      undocumented: true,
    });
    expect((tooLong.body as { message: string }).message).toMatch(/too far in the future/);
  });

  it("the App routes take only a JWT; a JWT reaches no repository and cannot git", async () => {
    const personal = await api(test, "GET", "/app", { undocumented: true });
    expect(personal.status).toBe(401);
    const repo = await api(test, "GET", `/repos/${OWNER}/demo`, {
      authorization: `Bearer ${jwt()}`,
    });
    expect(repo.status).toBe(403);
    const fetched = await gitAs(jwt(), "demo", "fetch");
    expect(fetched.code).not.toBe(0);
  });

  it("finds the installation from the repository; none for a repository it is not on", async () => {
    const found = await api(test, "GET", `/repos/${OWNER}/demo/installation`, {
      authorization: `Bearer ${jwt()}`,
    });
    expect(found.status).toBe(200);
    expect(found.body).toMatchObject({ id: app.installationId, app_id: app.appId });
    const byId = await api(test, "GET", `/app/installations/${app.installationId}`, {
      authorization: `Bearer ${jwt()}`,
    });
    expect(byId.status).toBe(200);
    const missing = await api(test, "GET", "/repos/elsewhere/demo/installation", {
      authorization: `Bearer ${jwt()}`,
    });
    expect(missing.status).toBe(404);
  });
});

describe("local forge: installation tokens", () => {
  it("are narrowed to the repositories and permissions asked for, for one hour", async () => {
    const before = Date.now();
    const reply = await mint({ repositories: ["demo"], permissions: { contents: "read" } });
    expect(reply.status).toBe(201);
    const body = reply.body as {
      token: string;
      expires_at: string;
      permissions: Record<string, string>;
      repository_selection: string;
      repositories: Array<{ name: string }>;
    };
    expect(body.token).toMatch(/^ghs_[A-Za-z0-9_-]{36}$/);
    expect(body.permissions).toEqual({ contents: "read", metadata: "read" });
    expect(body.repository_selection).toBe("selected");
    expect(body.repositories.map((r) => r.name)).toEqual(["demo"]);
    const expires = Date.parse(body.expires_at);
    expect(expires).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 3_599_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 3_600_000);

    const listed = await api(test, "GET", "/installation/repositories", {
      authorization: `token ${body.token}`,
    });
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({ total_count: 1, repositories: [{ name: "demo" }] });
  });

  it("422 for more than the installation has: a permission it lacks, a higher level, a repository it is not on", async () => {
    for (const body of [
      { permissions: { administration: "write" } },
      { permissions: { contents: "write", issues: "read" } },
      { repositories: ["demo", "no-such-repo"] },
      { repository_ids: [123456789] },
    ]) {
      const reply = await mint(body);
      expect(reply.status).toBe(422);
    }
    const narrow = installTestApp(test.forge, OWNER, {
      repositories: ["demo"],
      permissions: { contents: "read", metadata: "read" },
    });
    const reply = await api(
      test,
      "POST",
      `/app/installations/${narrow.installationId}/access_tokens`,
      {
        authorization: `Bearer ${signJwt(narrow.privateKey, goodClaims(narrow.appId))}`,
        body: { permissions: { contents: "write" } },
      },
    );
    expect(reply.status).toBe(422);
    const otherRepo = await api(
      test,
      "POST",
      `/app/installations/${narrow.installationId}/access_tokens`,
      {
        authorization: `Bearer ${signJwt(narrow.privateKey, goodClaims(narrow.appId))}`,
        body: { repositories: ["other"] },
      },
    );
    expect(otherRepo.status).toBe(422);
    // Another App's installation is not this App's to mint for.
    const stolen = await api(
      test,
      "POST",
      `/app/installations/${app.installationId}/access_tokens`,
      {
        authorization: `Bearer ${signJwt(narrow.privateKey, goodClaims(narrow.appId))}`,
      },
    );
    expect(stolen.status).toBe(404);
  });

  it("a per-attempt token pushes to its repository and to no other; it cannot change settings", async () => {
    const token = await mintToken({
      repositories: ["demo"],
      permissions: { contents: "write", pull_requests: "write" },
    });
    expect((await gitAs(token, "demo", "push")).code).toBe(0);
    expect((await gitAs(token, "demo", "fetch")).code).toBe(0);
    const otherPush = await gitAs(token, "other", "push");
    expect(otherPush.code).not.toBe(0);
    expect(otherPush.stderr).toMatch(/not found/i);
    expect((await gitAs(token, "other", "fetch")).code).not.toBe(0);
    expect((await gitAs(token, "demo", "fetch", "elsewhere")).code).not.toBe(0);

    const other = await api(test, "GET", `/repos/${OWNER}/other`, {
      authorization: `token ${token}`,
    });
    expect(other.status).toBe(404);
    const settings = await api(test, "PATCH", `/repos/${OWNER}/demo`, {
      authorization: `token ${token}`,
      body: { default_branch: "main" },
    });
    expect(settings.status).toBe(403);
    expect((settings.body as { message: string }).message).toBe(
      "Resource not accessible by integration",
    );
    // The owner's token may.
    const owner = await api(test, "PATCH", `/repos/${OWNER}/demo`, {
      body: { default_branch: "main" },
    });
    expect(owner.status).toBe(200);
    // The token reaches its own repository's PRs.
    const pulls = await api(test, "GET", `/repos/${OWNER}/demo/pulls`, {
      authorization: `token ${token}`,
    });
    expect(pulls.status).toBe(200);
  });

  it("a leaked read token (the tick's) fetches but cannot push, open a PR or merge", async () => {
    const token = await mintToken({
      repositories: ["demo"],
      permissions: { contents: "read", pull_requests: "read", metadata: "read" },
    });
    expect((await gitAs(token, "demo", "fetch")).code).toBe(0);
    const push = await gitAs(token, "demo", "push");
    expect(push.code).not.toBe(0);
    expect(push.stderr).toMatch(/403|not granted/i);
    const created = await api(test, "POST", `/repos/${OWNER}/demo/pulls`, {
      authorization: `token ${token}`,
      body: { title: "t", head: "main", base: "main" },
    });
    expect(created.status).toBe(403);
    const merged = await api(test, "PUT", `/repos/${OWNER}/demo/pulls/1/merge`, {
      authorization: `token ${token}`,
      body: {},
    });
    expect(merged.status).toBe(403);
    const contents = await api(test, "GET", `/repos/${OWNER}/demo/contents/README.md`, {
      authorization: `token ${token}`,
    });
    expect(contents.status).toBe(200);
  });

  it("expire after an hour on REST and git, whatever the client believes", async () => {
    const token = await mintToken({ repositories: ["demo"] });
    expect((await gitAs(token, "demo", "fetch")).code).toBe(0);
    offsetMs = 60 * 60 * 1000 + 1_000;
    try {
      const reply = await api(test, "GET", `/repos/${OWNER}/demo`, {
        authorization: `token ${token}`,
        undocumented: true,
      });
      expect(reply.status).toBe(401);
      expect((await gitAs(token, "demo", "fetch")).code).not.toBe(0);
      expect((await gitAs(token, "demo", "push")).code).not.toBe(0);
    } finally {
      offsetMs = 0;
    }
  });

  it("@octokit/auth-app against the forge: finds the installation, mints a narrowed token", async () => {
    const octokit = new Octokit({ baseUrl: test.forge.apiUrl });
    const auth = createAppAuth({
      appId: app.appId,
      privateKey: app.privateKey,
      request: octokit.request,
    });
    const appAuth = await auth({ type: "app" });
    const { data } = await octokit.request("GET /repos/{owner}/{repo}/installation", {
      owner: OWNER,
      repo: "demo",
      headers: { authorization: `bearer ${appAuth.token}` },
    });
    expect(data.id).toBe(app.installationId);
    const installation = await auth({
      type: "installation",
      installationId: data.id,
      repositoryNames: ["demo"],
      permissions: { contents: "write", pull_requests: "write" },
    });
    expect(installation.repositoryNames).toEqual(["demo"]);
    expect((await gitAs(installation.token, "demo", "push")).code).toBe(0);
    expect((await gitAs(installation.token, "other", "push")).code).not.toBe(0);
  });

  it("on a protected branch a per-attempt token opens its PR but cannot push to the branch or merge into it", async () => {
    await test.forge.createRepository(OWNER, "guarded", { fromDir: join(test.scratch, "source") });
    await test.forge.protectBranch(OWNER, "guarded", "main");
    const token = await mintToken({
      repositories: ["guarded"],
      permissions: { contents: "write", pull_requests: "write" },
    });
    const url = test.forge.gitUrl(OWNER, "guarded");
    const auth = ["-c", `http.extraHeader=${basicHeader(token)}`];
    const clone = await mkdtemp(join(test.scratch, "guarded-"));
    expect((await runGit([...auth, "clone", "-q", url, clone], test.scratch)).code).toBe(0);
    await writeFiles(clone, { "docs/change.md": "a change\n" });
    await runGit(["add", "docs/change.md"], clone);
    await runGit(["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "change"], clone);
    const toMain = await runGit([...auth, "push", "origin", "HEAD:refs/heads/main"], clone);
    expect(toMain.code).not.toBe(0);
    expect(toMain.stderr).toMatch(/GH006: Protected branch update failed/);
    // Whatever user name the client sends, the push is the installation's.
    const renamed = await runGit(
      [
        "-c",
        `http.extraHeader=${basicHeader(token, "admin")}`,
        "push",
        "origin",
        "HEAD:refs/heads/main",
      ],
      clone,
    );
    expect(renamed.code).not.toBe(0);
    expect(
      (await runGit([...auth, "push", "origin", "HEAD:refs/heads/agent/change"], clone)).code,
    ).toBe(0);
    const opened = await api(test, "POST", `/repos/${OWNER}/guarded/pulls`, {
      authorization: `token ${token}`,
      body: { title: "A change", head: "agent/change", base: "main" },
    });
    expect(opened.status).toBe(201);
    const number = (opened.body as { number: number }).number;
    const merged = await api(test, "PUT", `/repos/${OWNER}/guarded/pulls/${number}/merge`, {
      authorization: `token ${token}`,
      body: {},
    });
    expect(merged.status).toBe(405);
    expect((merged.body as { message: string }).message).toMatch(/approving review is required/);
    const ownerMerge = await api(test, "PUT", `/repos/${OWNER}/guarded/pulls/${number}/merge`, {
      body: {},
    });
    expect(ownerMerge.status).toBe(200);
  });
});
