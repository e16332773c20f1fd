// The operator's console in headless Chromium against a real control plane holding a real event
// history: sign-in, each view's content checked against the API, the breaker reset, paging, live
// events, markup in data shown as text, and the token kept out of URLs, localStorage and the page.
// Screenshots of each page go to test/output/console/ (gitignored), or CONSOLE_SCREENSHOT_DIR.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  call,
  startTestControlPlane,
  type TestControlPlane,
  TOKEN,
} from "../control-plane/support.ts";
import { launchBrowser } from "../support/browser.ts";
import {
  type ConsoleHistory,
  consoleHistory,
  ERROR_SUMMARY,
  PR_TITLE,
  recordHistory,
} from "../support/console-history.ts";
import { tempDir } from "../support/temp-dir.ts";
import { waitFor } from "../support/wait-for.ts";

// What the functions handed to page.evaluate see: they run in the page, not here, and the
// project's types have no DOM library.
// biome-ignore-start lint/suspicious/noExplicitAny: the page's globals, untyped on this side
declare const document: any;
declare const window: any;
declare const sessionStorage: any;
declare const localStorage: any;
declare const getComputedStyle: any;
// biome-ignore-end lint/suspicious/noExplicitAny: the page's globals

const SHOTS =
  process.env.CONSOLE_SCREENSHOT_DIR ?? join(import.meta.dirname, "..", "output", "console");

let cp: TestControlPlane;
let browser: BrowserContext;
let page: Page;
let history: ConsoleHistory;
/** Every URL the page asked for, and everything it said on its console. */
const requested: string[] = [];
const problems: string[] = [];

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  cp = await startTestControlPlane();
  history = consoleHistory(new Date());
  await recordHistory(cp.url, TOKEN, history);
  browser = await launchBrowser(tempDir("leviathan-chromium-"));
  page = await browser.newPage();
  page.on("request", (req) => requested.push(req.url()));
  page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error" && !/401/.test(message.text())) {
      problems.push(`console: ${message.text()}`);
    }
  });
});

afterAll(async () => {
  await browser?.close();
  await cp?.cleanup();
});

async function shot(name: string, target: Page = page): Promise<void> {
  await target.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function signIn(token: string): Promise<void> {
  await page.getByLabel("Control-plane token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
}

function row(name: string) {
  return page.locator("table.cards tbody tr", {
    has: page.getByRole("link", { name, exact: true }),
  });
}

describe("the console in a browser", () => {
  it("a wrong token shows an error and no data", async () => {
    await page.goto(`${cp.url}/`);
    await expect.poll(() => page.getByLabel("Control-plane token").isVisible()).toBe(true);
    await signIn("not-the-token");
    const error = page.locator("#sign-in-error");
    await expect.poll(() => error.textContent()).toContain("401");
    const text = (await page.locator("body").textContent()) ?? "";
    for (const target of ["alpha", "beta", "gamma"]) expect(text).not.toContain(target);
    expect(await page.locator("#view").textContent()).toBe("");
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await shot("sign-in-refused");
  });

  it("the right token shows the targets with the right counts, the stalled target and the open breaker", async () => {
    await signIn(TOKEN);
    await page.locator('[data-view="targets"] table').waitFor();
    const summary = (await call(cp.url, "/v1/graph/summary")).json;
    expect(await page.locator('[data-count="targets"]').textContent()).toBe("3 targets");
    expect(await page.locator('[data-count="running"]').textContent()).toBe("1 running attempts");
    expect(await page.locator('[data-count="prs"]').textContent()).toBe("1 open PRs");
    expect(await page.locator('[data-count="stalled"]').textContent()).toBe("1 stalled");
    expect(await page.locator('[data-count="open"]').textContent()).toBe("1 breakers open");
    expect(summary.targets.beta.stalled).toBe(true);
    const marks = (name: string) => row(name).locator(".marks").textContent();
    expect(await marks("beta")).toBe("stalled");
    expect(await marks("alpha")).toBe("ok");
    expect(await marks("gamma")).toBe("breaker open");
    expect(await row("alpha").locator("td").last().textContent()).toBe("1: #7 ");
    expect(await row("gamma").textContent()).toContain("open (2/2 failures)");
    expect(await row("alpha").textContent()).toContain("closed (0/2 failures)");
    expect(await row("beta").textContent()).toContain("max_open_prs");
    expect(await row("alpha").textContent()).toContain("*/5 * * * *");
    await shot("targets");
  });

  it("Reset asks first, then closes the breaker and a circuit.reset is recorded", async () => {
    const reset = row("gamma").getByRole("button", { name: "Reset the breaker of gamma" });
    page.once("dialog", (dialog) => void dialog.dismiss());
    await reset.click();
    // Dismissed: nothing recorded.
    expect((await call(cp.url, "/v1/targets/gamma")).json.consecutive_failures).toBe(2);
    page.once("dialog", (dialog) => {
      expect(dialog.type()).toBe("confirm");
      expect(dialog.message()).toContain("gamma");
      void dialog.accept();
    });
    await reset.click();
    await expect.poll(() => row("gamma").textContent()).toContain("closed (0/2 failures)");
    expect(await page.locator('[data-count="open"]').textContent()).toBe("0 breakers open");
    const target = (await call(cp.url, "/v1/targets/gamma")).json;
    expect(target.circuit_open).toBe(false);
    const head = (await call(cp.url, "/v1/store/head")).json.seq;
    const last = (await call(cp.url, `/v1/events?after=${head - 1}`)).json.records[0];
    expect(last).toMatchObject({ target: "gamma", event: { event_type: "circuit.reset" } });
  });

  it("a target shows its tasks, newest attempt first, with the last failure's summary as text", async () => {
    await page.goto(`${cp.url}/#/targets/gamma`);
    await page.locator('[data-view="target"]').waitFor();
    const task = page.locator("table.cards tbody tr").first();
    const text = (await task.textContent()) ?? "";
    expect(text).toContain("fix-build");
    expect(text).toContain("blocked");
    expect(text).toContain("executor_failed");
    expect(await task.locator("pre.summary").textContent()).toBe(ERROR_SUMMARY);
    expect(await page.locator("#view img").count()).toBe(0);
    expect(await page.evaluate(() => window.__pwned)).toBe(undefined);
    const attempts = page.locator("table.cards").nth(1).locator("tbody tr");
    expect(await attempts.count()).toBe(2);
    // Newest first.
    expect(await attempts.first().textContent()).toContain(history.failed[1]!);
    await shot("target");

    await page.goto(`${cp.url}/#/targets/alpha`);
    await page.locator('[data-view="target"]').waitFor();
    // The hash changes in the same page: until alpha's answer is drawn, gamma's view is still there.
    const first = page.locator("table.cards").first().locator("tbody tr").first();
    await expect.poll(async () => (await first.textContent()) ?? "").toContain("docs-2");
  });

  it("an attempt's timeline matches its records; the PR title is text", async () => {
    await page.goto(`${cp.url}/#/attempts/${history.succeeded}`);
    await page.locator('[data-view="attempt"]').waitFor();
    const view = (await call(cp.url, `/v1/attempts/${history.succeeded}`)).json;
    const items = page.locator("ol.timeline > li");
    expect(await items.count()).toBe(view.records.length);
    for (const [i, record] of view.records.entries()) {
      const item = items.nth(i);
      expect(await item.getAttribute("data-seq")).toBe(String(record.seq));
      expect(await item.locator(".record-type").textContent()).toBe(record.event.event_type);
      expect(await item.locator(".record-actor").textContent()).toBe(record.event.actor_id);
      expect(await item.locator(".record-hash").textContent()).toBe(record.hash);
      expect(await item.locator("time").first().getAttribute("datetime")).toBe(
        record.event.timestamp,
      );
    }
    expect(await page.locator(".pr-title").textContent()).toBe(PR_TITLE);
    expect(await page.locator("#view b").count()).toBe(0);
    expect(await page.locator("dl.facts").textContent()).toContain("user+pid-namespace");
    expect(await page.locator("script").count()).toBe(1);
    expect(await page.evaluate(() => window.__pwned)).toBe(undefined);
    await shot("attempt");
  });

  it("the log pages back to the first event, filters, and shows new events without a reload", async () => {
    await page.goto(`${cp.url}/#/log`);
    await page.locator('[data-view="log"] tbody tr').first().waitFor();
    const head = (await call(cp.url, "/v1/store/head")).json.seq;
    expect(await page.locator("tbody tr").first().getAttribute("data-seq")).toBe(String(head));
    await shot("log");
    const older = page.locator("#log-older");
    let pages = 0;
    while (await older.isEnabled()) {
      const before = await page.locator("#log-range").textContent();
      await older.click();
      await expect.poll(() => page.locator("#log-range").textContent()).not.toBe(before);
      pages += 1;
      expect(pages).toBeLessThan(20);
    }
    expect(pages).toBeGreaterThanOrEqual(2);
    expect(await page.locator("tbody tr").last().getAttribute("data-seq")).toBe("1");

    await page.getByRole("button", { name: "Newest" }).click();
    await page.getByLabel("Target").selectOption("gamma");
    await page.getByLabel("Type").selectOption("attempt.failed");
    await expect.poll(() => page.locator("tbody tr").count()).toBe(2);
    for (const seq of await page
      .locator("tbody tr")
      .evaluateAll((rows) => rows.map((r) => r.textContent ?? ""))) {
      expect(seq).toContain("attempt.failed");
    }
    await page.getByLabel("Type").selectOption("");
    await page.getByLabel("Target").selectOption("");

    // A new event shows at the top on its own.
    const fresh = {
      event_id: "console-live-1",
      event_type: "scheduler.skipped",
      timestamp: new Date().toISOString(),
      actor_id: "scheduler",
      payload: { reason: "no_ready_task", target_id: "beta" },
    };
    const stored = await call(cp.url, "/v1/events/ingest", {
      method: "POST",
      body: { target: "beta", bundle_id: "live", events: [fresh] },
    });
    expect(stored.json.ingested).toBe(1);
    await waitFor(
      async () =>
        (await page.locator("tbody tr").first().getAttribute("data-seq")) === String(head + 1),
      "the new event at the top of the log",
    );
  });

  it("works at phone width and in dark mode", async () => {
    const phone = await browser.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.emulateMedia({ colorScheme: "dark" });
    // The token is this tab's: a new tab signs in again.
    await phone.goto(`${cp.url}/#/targets`);
    await phone.getByLabel("Control-plane token").fill(TOKEN);
    await phone.getByRole("button", { name: "Sign in" }).click();
    await phone.locator('[data-view="targets"] table').waitFor();
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(390);
    const background = await phone.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(background).toBe("rgb(18, 19, 22)");
    await shot("targets-phone-dark", phone);
    await phone.close();
  });

  it("is usable from the keyboard: links and buttons take focus, Enter follows a link", async () => {
    await page.goto(`${cp.url}/#/targets`);
    await page.locator('[data-view="targets"] table').waitFor();
    const focused = () => page.evaluate(() => document.activeElement?.textContent?.trim() ?? "");
    // The view's heading takes focus when a view is drawn, so a screen reader starts there.
    expect(await focused()).toBe("Targets");
    const forward: string[] = [];
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press("Tab");
      forward.push(await focused());
    }
    expect(forward.slice(0, 3)).toEqual(["alpha", "#7", "beta"]);
    expect(forward).toContain("gamma");
    await page.locator("#view h2").focus();
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Shift+Tab");
    expect(await focused()).toBe("Log");
    await page.locator("#view h2").focus();
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await page.locator('[data-view="target"]').waitFor();
    expect(page.url()).toContain("#/targets/alpha");
  });

  it("the token is in no URL, no localStorage, no cookie and nowhere in the page", async () => {
    expect(requested.length).toBeGreaterThan(5);
    for (const url of requested) expect(url).not.toContain(TOKEN);
    expect(page.url()).not.toContain(TOKEN);
    const leaks = await page.evaluate((token) => {
      const inputs = [...document.querySelectorAll("input")].map((i: { value: string }) => i.value);
      const local = Object.keys(localStorage).map((k: string) => `${k}=${localStorage.getItem(k)}`);
      return {
        html: document.documentElement.outerHTML.includes(token),
        text: (document.body.textContent ?? "").includes(token),
        inputs: inputs.some((v: string) => v.includes(token)),
        local,
        cookie: document.cookie,
      };
    }, TOKEN);
    expect(leaks).toEqual({
      html: false,
      text: false,
      inputs: false,
      local: [],
      cookie: "",
    });
    expect((await browser.cookies()).length).toBe(0);
    // It is kept for this tab only.
    expect(await page.evaluate(() => Object.values({ ...sessionStorage }))).toEqual([TOKEN]);
  });

  it("the page ran without errors or policy violations", () => {
    expect(problems).toEqual([]);
  });
});
