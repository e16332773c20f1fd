// PRs from a fork on the local forge: the head is another repository's branch (`owner:branch`),
// and every reply, through fetch and through the production client, is held against GitHub's
// published description.
import { describe, expect, it } from "vitest";
import { createGitHubForge } from "../../shared/forge/github/create-github-forge.ts";
import {
  api,
  cloneRepo,
  git,
  OWNER,
  openPull,
  pushBranch,
  pushToFork,
  REPO,
  type TestForge,
  useTestForge,
} from "../support/forge-fixtures.ts";
import { silentLogger } from "../support/store/store-helpers.ts";

const setup = useTestForge();

const PULLS = `/repos/${OWNER}/${REPO}/pulls`;
const FORK = "mallory";

interface Side {
  ref: string;
  sha: string;
  label: string;
  user: { login: string };
  repo: { full_name: string; owner: { login: string } };
}
interface Pull {
  number: number;
  head: Side;
  base: Side;
  mergeable: boolean | null;
  commits: number;
  changed_files: number;
}

/** acme/demo with its own agent/x and mallory's fork with an agent/x of its own. */
async function ownAndForkBranches(forge: TestForge) {
  const clone = await cloneRepo(forge);
  const own = await pushBranch(forge, clone, "agent/x", { "docs/own.md": "own\n" });
  const fork = await pushToFork(forge, clone, FORK, "agent/x", {
    "docs/fork.md": "fork\n",
    "docs/guide.md": "# Guide, forked\n",
  });
  return { clone, own, fork };
}

describe("local forge: a PR from a fork", () => {
  it("opens it from owner:branch, naming the fork as the head's repository", async () => {
    const test = await setup();
    const { fork } = await ownAndForkBranches(test);
    const created = await api(test, "POST", PULLS, {
      body: { title: "From a fork", head: `${FORK}:agent/x`, base: "main", body: null },
    });
    expect(created.status).toBe(201);
    const pull = created.body as Pull;
    expect(pull.head).toMatchObject({
      ref: "agent/x",
      sha: fork,
      label: `${FORK}:agent/x`,
      user: { login: FORK },
      repo: { full_name: `${FORK}/${REPO}`, owner: { login: FORK } },
    });
    expect(pull.base.repo.full_name).toBe(`${OWNER}/${REPO}`);
    // Its commits were fetched here: git's numbers and mergeability work as for any PR.
    expect(pull).toMatchObject({ mergeable: true, commits: 1, changed_files: 2 });
    expect((await api(test, "GET", `${PULLS}/${pull.number}`)).body).toEqual(pull);
  });

  it("keeps it apart from this repository's branch of the same name, in lists and head filters", async () => {
    const test = await setup();
    const { clone, own, fork } = await ownAndForkBranches(test);
    const ownNumber = await openPull(test, "agent/x");
    const forkNumber = await openPull(test, `${FORK}:agent/x`);
    const list = (await api(test, "GET", `${PULLS}?state=open`)).body as Pull[];
    expect(list.map((p) => [p.number, p.head.repo.full_name, p.head.sha])).toEqual([
      [forkNumber, `${FORK}/${REPO}`, fork],
      [ownNumber, `${OWNER}/${REPO}`, own],
    ]);
    const mine = (await api(test, "GET", `${PULLS}?head=${OWNER}:agent/x`)).body as Pull[];
    const theirs = (await api(test, "GET", `${PULLS}?head=${FORK}:agent/x`)).body as Pull[];
    expect([mine.map((p) => p.number), theirs.map((p) => p.number)]).toEqual([
      [ownNumber],
      [forkNumber],
    ]);
    // A push to this repository's agent/x moves only its own PR.
    const moved = await pushBranch(test, clone, "agent/x", { "docs/more.md": "m\n" }, own);
    const forkPull = (await api(test, "GET", `${PULLS}/${forkNumber}`)).body as Pull;
    const ownPull = (await api(test, "GET", `${PULLS}/${ownNumber}`)).body as Pull;
    expect([forkPull.head.sha, ownPull.head.sha]).toEqual([fork, moved]);
  });

  it("is what the production client reads: head_repo is the fork, and findOpenPullRequest never takes it", async () => {
    const test = await setup();
    await ownAndForkBranches(test);
    const forkNumber = await openPull(test, `${FORK}:agent/x`);
    const forge = createGitHubForge({
      apiUrl: test.forge.apiUrl,
      owner: OWNER,
      repo: REPO,
      token: test.token,
      logger: silentLogger,
    });
    expect(await forge.listOpenPullRequests()).toMatchObject([
      { number: forkNumber, head_ref: "agent/x", head_repo: `${FORK}/${REPO}` },
    ]);
    expect(await forge.findOpenPullRequest("agent/x")).toBeNull();
    const ownNumber = await openPull(test, "agent/x");
    expect(await forge.findOpenPullRequest("agent/x")).toMatchObject({
      number: ownNumber,
      head_repo: `${OWNER}/${REPO}`,
    });
  });

  it("merges the fork's commit, and refuses a head in no repository of the forge", async () => {
    const test = await setup();
    const { fork } = await ownAndForkBranches(test);
    const number = await openPull(test, `${FORK}:agent/x`);
    await test.forge.mergePullRequest(OWNER, REPO, number);
    const clone = await cloneRepo(test, "after");
    expect(await git(["merge-base", "--is-ancestor", fork, "origin/main"], clone)).toBe("");
    const merged = (await api(test, "GET", `${PULLS}/${number}`)).body as { merged: boolean };
    expect(merged.merged).toBe(true);

    for (const head of ["nobody:agent/x", `${FORK}:agent/none`]) {
      const refused = await api(test, "POST", PULLS, {
        body: { title: "No such head", head, base: "main" },
      });
      expect(refused.status, head).toBe(422);
      expect(refused.body).toMatchObject({ errors: [{ field: "head", code: "invalid" }] });
    }
  });
});
