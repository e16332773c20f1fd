// The local forge's web pages, over real HTTP as a browser uses them: the repository's PR list,
// a PR's diff, and the Merge and Close buttons (form posts, redirects), with hostile titles,
// bodies and file contents shown as text.
import { afterEach, describe, expect, it } from "vitest";
import {
  api,
  cloneRepo,
  OWNER,
  openPull,
  pushBranch,
  REPO,
  startTestForge,
  type TestForge,
} from "../support/forge-fixtures.ts";

let test: TestForge | undefined;
afterEach(async () => {
  await test?.cleanup();
  test = undefined;
});

const HOSTILE = `<script>alert("x")</script><img src=x onerror=alert(1)>`;

async function page(path: string): Promise<{ status: number; html: string }> {
  const reply = await fetch(`${test!.forge.url}${path}`, { signal: AbortSignal.timeout(20_000) });
  return { status: reply.status, html: await reply.text() };
}

/** The hidden token of the form that posts to `action`, as a browser would send it back. */
function formToken(html: string, action: string): string {
  const form = new RegExp(
    `<form method="post" action="${action.replace(/[/]/g, "\\/")}"><input type="hidden" name="token" value="([0-9a-f]{64})">`,
  ).exec(html);
  if (!form?.[1]) throw new Error(`no form for ${action}`);
  return form[1];
}

async function post(
  path: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
) {
  return fetch(`${test!.forge.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(form).toString(),
    redirect: "manual",
    signal: AbortSignal.timeout(20_000),
  });
}

async function openHostilePull(): Promise<{ number: number; path: string }> {
  test = await startTestForge();
  const clone = await cloneRepo(test);
  await pushBranch(test, clone, "agent/docs-1", {
    "docs/guide.md": `# Guide\nnew line ${HOSTILE}\n`,
  });
  const number = await openPull(test, "agent/docs-1", `Title ${HOSTILE}`, `Body ${HOSTILE}`);
  return { number, path: `/${OWNER}/${REPO}/pull/${number}` };
}

describe("the local forge's pages", () => {
  it("list the repository's PRs and show a PR's diff, every hostile value as text", async () => {
    const { number, path } = await openHostilePull();
    const list = await page(`/${OWNER}/${REPO}`);
    expect(list.status).toBe(200);
    expect(list.html).toContain(`#${number} Title &lt;script&gt;`);
    const pr = await page(path);
    expect(pr.status).toBe(200);
    for (const html of [list.html, pr.html]) {
      expect(html).not.toContain("<script>");
      expect(html).not.toContain("<img");
    }
    expect(pr.html).toContain("Body &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(pr.html).toContain('<span class="added">+new line &lt;script&gt;');
    expect(pr.html).toContain(
      '<span class="file">diff --git a/docs/guide.md b/docs/guide.md</span>',
    );
    expect(pr.html).toContain("Merge pull request");
    expect(pr.html).toContain("Close pull request");
  });

  it("Merge does what the REST merge does, then redirects to the PR, which has no buttons left", async () => {
    const { number, path } = await openHostilePull();
    const token = formToken((await page(path)).html, `${path}/merge`);
    const reply = await post(`${path}/merge`, { token }, { origin: test!.forge.url });
    expect(reply.status).toBe(303);
    expect(reply.headers.get("location")).toBe(path);
    const pull = await api(test!, "GET", `/repos/${OWNER}/${REPO}/pulls/${number}`);
    expect(pull.body).toMatchObject({ state: "closed", merged: true });
    const after = await page(path);
    expect(after.html).toContain('class="state merged"');
    expect(after.html).not.toContain("Merge pull request");
    // A second press (an old tab) says why, on the page, with the status GitHub gives.
    const again = await post(`${path}/merge`, { token });
    expect(again.status).toBe(405);
    expect(await again.text()).toContain('role="alert"');
  });

  it("Close closes it without merging", async () => {
    const { number, path } = await openHostilePull();
    const token = formToken((await page(path)).html, `${path}/close`);
    const reply = await post(`${path}/close`, { token });
    expect(reply.status).toBe(303);
    const pull = await api(test!, "GET", `/repos/${OWNER}/${REPO}/pulls/${number}`);
    expect(pull.body).toMatchObject({ state: "closed", merged: false });
  });

  it("refuses a post from another site, without the form's token, or with another action's", async () => {
    const { number, path } = await openHostilePull();
    const html = (await page(path)).html;
    const merge = formToken(html, `${path}/merge`);
    const close = formToken(html, `${path}/close`);
    for (const [form, headers] of [
      [{ token: merge }, { origin: "http://evil.example" }],
      [{ token: merge }, { origin: "http://127.0.0.1:1" }],
      [{}, {}],
      [{ token: "0".repeat(64) }, {}],
      [{ token: close }, {}],
    ] as const) {
      const reply = await post(`${path}/merge`, form, headers);
      expect(reply.status).toBe(403);
    }
    const wrongType = await fetch(`${test!.forge.url}${path}/merge`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: merge }),
    });
    expect(wrongType.status).toBe(415);
    const pull = await api(test!, "GET", `/repos/${OWNER}/${REPO}/pulls/${number}`);
    expect(pull.body).toMatchObject({ state: "open", merged: false });
  });
});
