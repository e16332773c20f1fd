import { describe, expect, it } from "vitest";
import { ForgeHttpError } from "../../shared/forge/local/forge-errors.ts";
import {
  api,
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

/** The parents and subject of a commit, read in a fresh clone. */
async function describeCommit(clone: string, sha: string) {
  const [parents = "", subject = "", body = ""] = (
    await git(["log", "-1", "--format=%P%x00%s%x00%b", sha], clone)
  ).split("\0");
  return { parents: parents.split(" "), subject, body: body.trim() };
}

describe("local forge: merging pull requests", () => {
  it("makes a real merge commit on the base, visible in a fresh clone, and marks the PR merged", async () => {
    const test = await setup();
    const clone = await cloneRepo(test);
    const base = await git(["rev-parse", "origin/main"], clone);
    const head = await pushBranch(test, clone, "agent/a", { "docs/a.md": "a\n" });
    await openPull(test, "agent/a", "Add a");

    const reply = await api(test, "PUT", `${PULLS}/1/merge`, { body: {} });
    expect(reply.status).toBe(200);
    const { sha } = reply.body as { sha: string };
    expect(reply.body).toEqual({ sha, merged: true, message: "Pull Request successfully merged" });

    const fresh = await cloneRepo(test, "fresh");
    expect(await git(["rev-parse", "HEAD"], fresh)).toBe(sha);
    expect(await describeCommit(fresh, sha)).toEqual({
      parents: [base, head],
      subject: `Merge pull request #1 from ${OWNER}/agent/a`,
      body: "Add a",
    });
    expect(await git(["show", "HEAD:docs/a.md"], fresh)).toBe("a");
    expect(await git(["show", "HEAD:README.md"], fresh)).toBe("demo");

    const pull = (await api(test, "GET", `${PULLS}/1`)).body as Record<string, unknown>;
    expect(pull).toMatchObject({
      state: "closed",
      merged: true,
      merge_commit_sha: sha,
      mergeable: null,
      commits: 1,
      changed_files: 1,
      head: { sha: head },
      base: { sha: base },
      merged_by: { login: "leviathan" },
    });
    expect(pull.merged_at).toBe(pull.closed_at);
    expect(((await api(test, "GET", PULLS)).body as unknown[]).length).toBe(0);
    const again = await api(test, "PUT", `${PULLS}/1/merge`, { body: {} });
    expect(again.status).toBe(405);
    expect(again.body).toEqual({
      message: "Pull Request is not mergeable",
      documentation_url: "https://docs.github.com/rest",
    });
    const page = await fetch(pull.html_url as string);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("Add a");
    expect(html).toContain('class="state merged"');
    expect(html).toContain("docs/a.md");
    const repoPage = await (await fetch(`${test.forge.url}/${OWNER}/${REPO}`)).text();
    expect(repoPage).toContain(`href="${pull.html_url}"`);
    expect((await fetch(`${test.forge.url}/${OWNER}/${REPO}/pull/9`)).status).toBe(404);
  });

  it("merges in-process by the same path, on top of whatever the base has become", async () => {
    const test = await setup();
    const clone = await cloneRepo(test);
    await pushBranch(test, clone, "agent/a", { "docs/a.md": "a\n" });
    const second = await pushBranch(test, clone, "agent/b", { "docs/b.md": "b\n" });
    await openPull(test, "agent/a");
    await openPull(test, "agent/b");
    await test.forge.mergePullRequest(OWNER, REPO, 1);
    const firstMerge = ((await api(test, "GET", `${PULLS}/1`)).body as { merge_commit_sha: string })
      .merge_commit_sha;
    await test.forge.mergePullRequest(OWNER, REPO, 2);
    const fresh = await cloneRepo(test, "fresh");
    const tip = await git(["rev-parse", "HEAD"], fresh);
    expect((await describeCommit(fresh, tip)).parents).toEqual([firstMerge, second]);
    expect(await git(["show", "HEAD:docs/a.md"], fresh)).toBe("a");
    expect(await git(["show", "HEAD:docs/b.md"], fresh)).toBe("b");
    await expect(test.forge.mergePullRequest(OWNER, REPO, 2)).rejects.toMatchObject({
      status: 405,
    });
    await expect(test.forge.mergePullRequest(OWNER, REPO, 7)).rejects.toBeInstanceOf(
      ForgeHttpError,
    );
  });

  it("refuses a conflicting merge with 405 and leaves the base alone", async () => {
    const test = await setup();
    const clone = await cloneRepo(test);
    await pushBranch(test, clone, "agent/one", { "README.md": "one\n" });
    await pushBranch(test, clone, "agent/two", { "README.md": "two\n" });
    await openPull(test, "agent/one");
    await openPull(test, "agent/two");
    expect(((await api(test, "GET", `${PULLS}/2`)).body as { mergeable: boolean }).mergeable).toBe(
      true,
    );
    await test.forge.mergePullRequest(OWNER, REPO, 1);
    const fresh = await cloneRepo(test, "fresh");
    const tip = await git(["rev-parse", "HEAD"], fresh);

    const pull = (await api(test, "GET", `${PULLS}/2`)).body;
    expect(pull).toMatchObject({ mergeable: false, mergeable_state: "dirty", state: "open" });
    const refused = await api(test, "PUT", `${PULLS}/2/merge`, { body: {} });
    expect(refused.status).toBe(405);
    expect(refused.body).toMatchObject({ message: "Pull Request is not mergeable" });
    expect(
      (await api(test, "GET", `/repos/${OWNER}/${REPO}/contents/README.md?ref=main`)).body,
    ).toMatchObject({ content: `${Buffer.from("one\n").toString("base64")}\n` });
    expect(
      ((await api(test, "GET", `${PULLS}/1`)).body as { merge_commit_sha: string })
        .merge_commit_sha,
    ).toBe(tip);
    expect(((await api(test, "GET", `${PULLS}/2`)).body as { merged: boolean }).merged).toBe(false);
  });

  it("checks the expected head, squashes on request and refuses rebase merges", async () => {
    const test = await setup();
    const clone = await cloneRepo(test);
    const base = await git(["rev-parse", "origin/main"], clone);
    const head = await pushBranch(test, clone, "agent/a", { "docs/a.md": "a\n" });
    await openPull(test, "agent/a", "Squash me");
    const stale = await api(test, "PUT", `${PULLS}/1/merge`, { body: { sha: base } });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({
      message: "Head branch was modified. Review and try the merge again.",
    });
    const rebase = await api(test, "PUT", `${PULLS}/1/merge`, { body: { merge_method: "rebase" } });
    expect(rebase.status).toBe(405);
    const squash = await api(test, "PUT", `${PULLS}/1/merge`, {
      body: { sha: head, merge_method: "squash", commit_title: "Squashed" },
    });
    expect(squash.status).toBe(200);
    const fresh = await cloneRepo(test, "fresh");
    expect(await describeCommit(fresh, "HEAD")).toEqual({
      parents: [base],
      subject: "Squashed",
      body: "",
    });
    expect((await api(test, "PUT", `${PULLS}/99/merge`, { body: {} })).status).toBe(404);
  });
});
