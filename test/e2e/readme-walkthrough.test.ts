// The README's quickstart as a newcomer follows it: `npm start` in the clone, open PR #1's page
// on the local forge, press Merge (the page's own form, over HTTP), and within the next tick
// `getting-started-doc` runs and opens PR #2. Nothing is shortcut: the merge is the button's
// POST, with the token the page gave, and the tick is the schedule's.
import { type ChildProcess, spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import { afterEach, beforeEach, expect, it } from "vitest";
import { httpRequest } from "../support/http-request.ts";
import { BIN, E2E_TIMEOUT_MS, START_CWD, tempHome } from "./support.ts";

type Line = Record<string, unknown>;

let home: string;
let child: ChildProcess | undefined;

beforeEach(async () => {
  home = await tempHome();
});

afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child!.once("exit", resolve));
    child.kill("SIGINT");
    await exited;
  }
  child = undefined;
  await rm(home, { recursive: true, force: true });
});

/** `npm start --json` as a child; `next(match)` resolves with the first line after the last one taken that matches. */
function startLocalMode(): { next(match: (line: Line) => boolean, what: string): Promise<Line> } {
  const started = spawn(process.execPath, [BIN, "start", "--json"], {
    cwd: START_CWD,
    env: { ...process.env, LEVIATHAN_HOME: home, PORT: "0", LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child = started;
  const lines: Line[] = [];
  const waiting: Array<() => void> = [];
  let buffer = "";
  let stderr = "";
  let exited = false;
  started.stdout!.on("data", (chunk: Buffer) => {
    buffer += chunk.toString("utf8");
    for (let i = buffer.indexOf("\n"); i >= 0; i = buffer.indexOf("\n")) {
      const text = buffer.slice(0, i).trim();
      buffer = buffer.slice(i + 1);
      if (text) lines.push(JSON.parse(text) as Line);
    }
    for (const wake of waiting.splice(0)) wake();
  });
  started.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  started.once("exit", () => {
    exited = true;
    for (const wake of waiting.splice(0)) wake();
  });
  let taken = 0;
  return {
    async next(match, what) {
      for (;;) {
        const at = lines.findIndex((line, index) => index >= taken && match(line));
        if (at >= 0) {
          taken = at + 1;
          return lines[at]!;
        }
        if (exited) throw new Error(`start exited before ${what}:\n${stderr}`);
        await new Promise<void>((resolve) => waiting.push(resolve));
      }
    },
  };
}

it(
  "npm start opens PR #1; its page's Merge button merges it; the next tick opens PR #2 for getting-started-doc",
  async () => {
    const run = startLocalMode();
    const first = await run.next((l) => l.kind === "result", "the first PR");
    const prUrl = first.pr_url as string;
    expect(prUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/leviathan\/demo-target\/pull\/1$/);
    // What the README says comes next: the page, and how to merge.
    const hint = await run.next((l) => l.kind === "next", "the merge hint");
    expect(hint.message).toMatch(/press Merge/);

    // The repository's page lists the PR; the PR's page shows the diff and the buttons.
    const forge = new URL(prUrl).origin;
    const list = await httpRequest(`${forge}/leviathan/demo-target`);
    expect(list.status).toBe(200);
    expect(list.body.toString()).toContain(prUrl);
    const page = await httpRequest(prUrl);
    expect(page.status).toBe(200);
    const html = page.body.toString();
    expect(html).toContain(".leviathan/backlog.yaml");
    const form =
      /<form method="post" action="([^"]+\/merge)">\s*<input type="hidden" name="token" value="([0-9a-f]+)">/.exec(
        html,
      );
    expect(form, "the page's Merge form").not.toBeNull();

    // Pressing Merge: the browser posts the form from the forge's own page.
    const merged = await httpRequest(`${forge}${form![1]}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: forge },
      body: `token=${form![2]}`,
    });
    expect(merged.status).toBe(303);
    expect(merged.headers.location).toBe(new URL(prUrl).pathname);
    expect((await httpRequest(prUrl)).body.toString()).not.toContain(form![2]);

    // The next scheduled tick records the merge and runs the second task.
    const tick = await run.next(
      (l) => l.kind === "tick" && (l.decision as Line | undefined)?.action === "dispatch",
      "the tick after the merge",
    );
    expect(tick.decision).toMatchObject({ task_id: "getting-started-doc", attempt_number: 1 });
    expect(tick.message).toContain("pr.merged");
    const second = await run.next((l) => l.kind === "result", "the second PR");
    expect(second.pr_url).toBe(prUrl.replace(/\/pull\/1$/, "/pull/2"));
    const page2 = (await httpRequest(second.pr_url as string)).body.toString();
    expect(page2).toContain("docs/getting-started.md");
  },
  E2E_TIMEOUT_MS,
);
