// The console at a large history: 100 targets and 1,000,000 stored events (100,000 in quick
// mode). Measured in headless Chromium against a real control plane child: first paint of the
// page, and time to interactive of the targets page (navigation start → the targets table is
// drawn, its data fetched and rendered), beside `GET /v1/graph/summary` alone over HTTP.
import { mkdir } from "node:fs/promises";
import { Agent } from "node:http";
import { join } from "node:path";
import type { BrowserContext } from "playwright-core";
import { createControlPlaneState } from "../../shared/control-plane/state/create-control-plane-state.ts";
import { openNdjsonStore } from "../../shared/store/ndjson/open-ndjson-store.ts";
import type { AppendItem } from "../../shared/store/types.ts";
import { launchBrowser } from "../support/browser.ts";
import { startControlPlaneChild } from "../support/control-plane-child.ts";
import { httpRequest } from "../support/http-request.ts";
import { silentLogger } from "../support/store/store-helpers.ts";
import { syntheticEvents } from "../support/synthetic-stream.ts";
import { type BenchSection, count, median, megabytes, ms } from "./bench-report.ts";
import type { BenchContext } from "./ingest-bench.ts";

const TARGETS = 100;
const FULL_EVENTS = 1_000_000;
const QUICK_EVENTS = 100_000;
const TOKEN = "console-bench-token";
const RUNS = 7;
const GOAL_MS = 1000;
const POLICY = { schedule_cron: "*/5 * * * *", circuit_breaker_failures: 3 };

// biome-ignore-start lint/suspicious/noExplicitAny: the page's globals, untyped on this side
declare const window: any;
declare const document: any;
declare const sessionStorage: any;
declare const MutationObserver: any;
// biome-ignore-end lint/suspicious/noExplicitAny: the page's globals

/** A plausible stream over 100 targets, then one current tick per target (its policy in it). */
async function prefill(dir: string, events: number): Promise<number> {
  const store = await openNdjsonStore({
    dir,
    projections: [createControlPlaneState()],
    logger: silentLogger,
    snapshotEveryRecords: Number.MAX_SAFE_INTEGER,
  });
  const started = performance.now();
  let batch: AppendItem[] = [];
  let i = 0;
  const flush = async () => {
    if (batch.length > 0) await store.append(batch);
    batch = [];
  };
  for (const spec of syntheticEvents({
    seed: 7,
    events: events - TARGETS,
    targets: TARGETS,
    live: 200,
    chaos: false,
  })) {
    i++;
    const payload =
      spec.type === "scheduler.skipped" ? { ...spec.payload, ...POLICY } : (spec.payload ?? {});
    batch.push({
      target: spec.target ?? "target-0",
      event: {
        event_id: `console-${i}`,
        event_type: spec.type,
        timestamp: spec.timestamp ?? "2024-05-01T00:00:00Z",
        actor_id: spec.actor ?? "synthetic",
        payload,
      },
    });
    if (batch.length === 10_000) await flush();
  }
  const now = Date.now();
  for (let t = 0; t < TARGETS; t++) {
    // Every third target ticked three hours ago: stalled on a five-minute schedule.
    const at = new Date(now - (t % 3 === 0 ? 3 * 3_600_000 : 60_000)).toISOString();
    batch.push({
      target: `target-${t}`,
      event: {
        event_id: `console-tick-${t}`,
        event_type: "scheduler.skipped",
        timestamp: at,
        actor_id: "scheduler",
        payload: {
          reason: "no_ready_task",
          target_id: `target-${t}`,
          tick_id: `b-${t}`,
          ...POLICY,
        },
      },
    });
  }
  await flush();
  const records = store.stats().records;
  await store.close();
  console.log(
    `   (prefill: ${count(records)} events in ${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
  return records;
}

/** Milliseconds of `GET path` alone: the first answer (made anew) and the median of the rest. */
async function apiTimes(
  url: string,
  path: string,
): Promise<{ first: number; warm: number; bytes: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const auth = { authorization: `Bearer ${TOKEN}` };
  try {
    const t0 = performance.now();
    const firstReply = await httpRequest(`${url}${path}`, { headers: auth, agent });
    const first = performance.now() - t0;
    if (firstReply.status !== 200) throw new Error(`${path} answered ${firstReply.status}`);
    const samples: number[] = [];
    for (let i = 0; i < 30; i++) {
      const started = performance.now();
      const reply = await httpRequest(`${url}${path}`, { headers: auth, agent });
      if (reply.status !== 200) throw new Error(`${path} answered ${reply.status}`);
      samples.push(performance.now() - started);
    }
    return { first, warm: median(samples), bytes: firstReply.body.length };
  } finally {
    agent.destroy();
  }
}

interface PageTimes {
  firstPaint: number;
  interactive: number;
  rows: number;
}

/** One fresh tab: the token already in this tab's session storage, as after signing in. */
async function loadTargets(
  browser: BrowserContext,
  url: string,
  signedIn: boolean,
): Promise<PageTimes> {
  const page = await browser.newPage();
  try {
    await page.addInitScript(
      ({ token, signedIn }) => {
        if (signedIn) sessionStorage.setItem("leviathan.console.token", token);
        else sessionStorage.clear();
        const observer = new MutationObserver(() => {
          const ready = signedIn
            ? document.querySelector('[data-view="targets"] table')
            : document.querySelector("#sign-in:not([hidden]) input");
          if (ready && window.__interactive === undefined) {
            window.__interactive = performance.now();
            observer.disconnect();
          }
        });
        observer.observe(document, { childList: true, subtree: true, attributes: true });
      },
      { token: TOKEN, signedIn },
    );
    await page.goto(`${url}/#/targets`);
    await page.waitForFunction(() => window.__interactive !== undefined, null, { timeout: 60_000 });
    // The sign-in form can be in the DOM before the first frame is painted: wait for the paint
    // entry (5 s at most; NaN without one) rather than read a list that may still be empty.
    await page
      .waitForFunction(
        () =>
          performance.getEntriesByName("first-contentful-paint").length +
            performance.getEntriesByName("first-paint").length >
          0,
        null,
        { timeout: 5_000 },
      )
      .catch(() => undefined);
    return await page.evaluate(() => ({
      firstPaint:
        performance.getEntriesByName("first-contentful-paint")[0]?.startTime ??
        performance.getEntriesByName("first-paint")[0]?.startTime ??
        Number.NaN,
      interactive: window.__interactive as number,
      rows: document.querySelectorAll('[data-view="targets"] tbody tr').length,
    }));
  } finally {
    await page.close();
  }
}

export async function benchConsole(context: BenchContext): Promise<BenchSection> {
  const events = context.quick ? QUICK_EVENTS : FULL_EVENTS;
  const dir = join(context.workDir, "console-events");
  await mkdir(dir, { recursive: true });
  const stored = await prefill(dir, events);
  const child = await startControlPlaneChild({
    dataDir: dir,
    token: TOKEN,
    lifetimeMs: 20 * 60_000,
    readyTimeoutMs: 5 * 60_000,
  });
  let browser: BrowserContext | undefined;
  try {
    const summary = await apiTimes(child.url, "/v1/graph/summary");
    const profile = join(context.workDir, "console-chromium");
    await mkdir(profile, { recursive: true });
    browser = await launchBrowser(profile);
    // One load to warm the browser's own start-up (its profile, its code cache), not measured.
    await loadTargets(browser, child.url, true);
    const signIn: PageTimes[] = [];
    const targets: PageTimes[] = [];
    for (let i = 0; i < RUNS; i++) {
      signIn.push(await loadTargets(browser, child.url, false));
      targets.push(await loadTargets(browser, child.url, true));
    }
    const rows = targets[0]!.rows;
    if (rows !== TARGETS) throw new Error(`the targets page drew ${rows} rows, not ${TARGETS}`);
    const paint = median(signIn.map((t) => t.firstPaint));
    const signInReady = median(signIn.map((t) => t.interactive));
    const targetsPaint = median(targets.map((t) => t.firstPaint));
    const tti = median(targets.map((t) => t.interactive));
    const baseline = `GET /v1/graph/summary alone: ${ms(summary.warm)} (first, made anew: ${ms(summary.first)})`;
    return {
      title: `Console: ${TARGETS} targets, ${count(stored)} stored events`,
      notes: [
        `headless Chromium (${RUNS} fresh tabs each, medians; times from navigation start, as the page's performance clock reads them)`,
        `summary answer: ${megabytes(summary.bytes)} (${count(summary.bytes)} bytes); the control plane child restored its state from the snapshot`,
        ...(context.quick
          ? [`quick mode: ${count(stored)} events; the goal is stated for 1,000,000`]
          : []),
      ],
      rows: [
        {
          measure: "console first paint (sign-in page)",
          figure: ms(paint),
          baseline: `sign-in form ready: ${ms(signInReady)}`,
          goal: `< ${GOAL_MS} ms`,
          met: paint < GOAL_MS,
        },
        {
          measure: `targets page time to interactive (${TARGETS} rows drawn)`,
          figure: ms(tti),
          baseline,
          goal: `< ${GOAL_MS} ms`,
          met: tti < GOAL_MS,
        },
        {
          measure: "targets page first paint",
          figure: ms(targetsPaint),
          baseline,
          goal: "",
        },
      ],
    };
  } finally {
    await browser?.close();
    await child.kill("SIGTERM");
  }
}
