// The control plane at a large history: ingest rate with 1,000,000 events stored
// beside an empty store, summary and target query latency beside a full rescan, cold start to
// /health beside a bare Node server, and resident memory. Scales the history down (and says so)
// when the disk is short, and in quick mode.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, open, readdir, statfs } from "node:fs/promises";
import { Agent } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createControlPlaneState } from "../../shared/control-plane/state/create-control-plane-state.ts";
import { openNdjsonStore } from "../../shared/store/ndjson/open-ndjson-store.ts";
import type { AppendItem } from "../../shared/store/types.ts";
import {
  type ControlPlaneChild,
  residentBytes,
  startControlPlaneChild,
} from "../support/control-plane-child.ts";
import { httpRequest } from "../support/http-request.ts";
import { silentLogger } from "../support/store/store-helpers.ts";
import { syntheticEvents } from "../support/synthetic-stream.ts";
import {
  type BenchSection,
  count,
  median,
  megabytes,
  ms,
  perSecond,
  quantile,
} from "./bench-report.ts";
import type { BenchContext } from "./ingest-bench.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

import { ingestThroughServer } from "./ingest-bench.ts";
import { BENCH_TOKEN, benchEvent, bundleBodies } from "./ingest-load.ts";

const FULL_HISTORY = 1_000_000;
const QUICK_HISTORY = 100_000;
/** A stored ~1 KB event with its record envelope, measured: about 1.2-1.3 KB. */
const BYTES_PER_RECORD = 1_300;
const QUERY_TARGET = "target-3";
const AUTH = { authorization: `Bearer ${BENCH_TOKEN}` };

export interface HistoryPlan {
  events: number;
  notes: string[];
}

/** How much history fits: the goal's 1,000,000 (100,000 in quick mode) if 3× its size is free. */
export async function planHistory(context: BenchContext): Promise<HistoryPlan> {
  const wanted = context.quick ? QUICK_HISTORY : FULL_HISTORY;
  const fs = await statfs(context.workDir);
  const free = fs.bavail * fs.bsize;
  const notes = [
    `free disk at ${context.workDir}: ${(free / 1024 ** 3).toFixed(1)} GiB; ${count(wanted)} events need ~${(
      (wanted * BYTES_PER_RECORD) / 1024 ** 3
    ).toFixed(2)} GiB (3× that is required)`,
  ];
  let events = wanted;
  if (free < 3 * wanted * BYTES_PER_RECORD) {
    events = Math.max(10_000, Math.floor(free / 3 / BYTES_PER_RECORD / 10_000) * 10_000);
    notes.push(
      `SCALED DOWN: not enough free disk for ${count(wanted)} events; using ${count(events)}`,
    );
  }
  if (context.quick) {
    notes.push(
      `quick mode: a history of ${count(events)} events; the goals are stated for 1,000,000`,
    );
  }
  return { events, notes };
}

/**
 * Fills a store straight through the store API in large appends: a plausible stream (20
 * targets, interleaved attempts, PRs, skips) padded to ~1 KB an event, with the query state
 * registered so the snapshot written at close lets the control plane start without a rescan.
 */
export async function prefill(
  dir: string,
  events: number,
): Promise<{ seconds: number; bytes: number }> {
  const store = await openNdjsonStore({
    dir,
    projections: [createControlPlaneState()],
    logger: silentLogger,
    // One snapshot at close instead of one every 100,000 records.
    snapshotEveryRecords: Number.MAX_SAFE_INTEGER,
  });
  const started = performance.now();
  const pad = "p".repeat(720);
  let batch: AppendItem[] = [];
  let i = 0;
  for (const spec of syntheticEvents({ seed: 42, events, targets: 20, live: 50, chaos: false })) {
    i++;
    batch.push({
      target: spec.target ?? "radix",
      event: {
        event_id: `history-${i}`,
        event_type: spec.type,
        timestamp: spec.timestamp ?? "2024-05-01T00:00:00Z",
        actor_id: spec.actor ?? "synthetic",
        payload: { ...spec.payload, pad },
      },
    });
    if (batch.length === 10_000) {
      await store.append(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await store.append(batch);
  const bytes = store.stats().bytes;
  await store.close();
  return { seconds: (performance.now() - started) / 1000, bytes };
}

/** Reads and parses every line of every segment: what answering a query by rescanning costs. */
async function fullRescan(dir: string): Promise<{ seconds: number; records: number }> {
  const started = performance.now();
  let records = 0;
  const names = (await readdir(dir)).filter((n) => /^segment-\d{20}\.ndjson$/.test(n)).sort();
  const chunk = Buffer.allocUnsafe(8 * 1024 * 1024);
  for (const name of names) {
    const handle = await open(join(dir, name), "r");
    try {
      let rest = "";
      for (;;) {
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
        if (bytesRead === 0) break;
        const lines = (rest + chunk.toString("utf8", 0, bytesRead)).split("\n");
        rest = lines.pop() ?? "";
        for (const line of lines) {
          JSON.parse(line);
          records++;
        }
      }
    } finally {
      await handle.close();
    }
  }
  return { seconds: (performance.now() - started) / 1000, records };
}

/** Milliseconds from spawn to the first 200 from /health (or, for a bare server, from /). */
/** Median wall time of `node <args>` from spawn to exit. */
async function medianRun(runs: number, args: string[]): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      execFile(process.execPath, args, { timeout: 60_000 }, (error) =>
        error ? reject(error) : resolve(),
      );
    });
    samples.push(performance.now() - started);
  }
  return median(samples);
}

async function coldStart(
  start: () => Promise<ControlPlaneChild>,
  path: string,
): Promise<{ ms: number; child: ControlPlaneChild }> {
  const child = await start();
  const reply = await httpRequest(`${child.url}${path}`);
  if (reply.status !== 200) throw new Error(`${path} answered ${reply.status} once ready`);
  return { ms: performance.now() - child.spawnedAt, child };
}

const BARE_SERVER = `
const http = require("node:http");
const server = http.createServer((req, res) => res.end("ok"));
server.listen(0, "127.0.0.1", () => console.log("listening on http://127.0.0.1:" + server.address().port));
process.on("SIGTERM", () => process.exit(0));
`;

async function medianColdStart(
  times: number,
  start: () => Promise<ControlPlaneChild>,
  path: string,
): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const { ms: elapsed, child } = await coldStart(start, path);
    samples.push(elapsed);
    await child.kill("SIGTERM");
  }
  return median(samples);
}

async function latencies(url: string, path: string, samples: number): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  try {
    for (let i = 0; i < samples + 50; i++) {
      const started = performance.now();
      const reply = await httpRequest(`${url}${path}`, { headers: AUTH, agent });
      const elapsed = performance.now() - started;
      if (reply.status !== 200) throw new Error(`${path} answered ${reply.status}`);
      // The first 50 warm the connection and the JIT.
      if (i >= 50) times.push(elapsed);
    }
  } finally {
    agent.destroy();
  }
  return times;
}

/**
 * The summary right after an append: each sample first stores one event (of QUERY_TARGET), so
 * the answer cached for the previous seq no longer holds and the reply is made anew.
 */
async function uncachedSummaryLatencies(url: string, samples: number): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  try {
    for (let i = 0; i < samples + 20; i++) {
      const body = JSON.stringify({
        target: QUERY_TARGET,
        bundle_id: `uncached-${i}`,
        events: [benchEvent("uncached", QUERY_TARGET, i)],
      });
      const stored = await httpRequest(`${url}/v1/events/ingest`, {
        method: "POST",
        headers: { ...AUTH, "content-type": "application/json" },
        body: Buffer.from(body),
        agent,
      });
      if (stored.status !== 200) throw new Error(`ingest answered ${stored.status}`);
      const started = performance.now();
      const reply = await httpRequest(`${url}/v1/graph/summary`, { headers: AUTH, agent });
      const elapsed = performance.now() - started;
      if (reply.status !== 200) throw new Error(`summary answered ${reply.status}`);
      if (i >= 20) times.push(elapsed);
    }
  } finally {
    agent.destroy();
  }
  return times;
}

function latencyText(samples: number[]): string {
  return `p50 ${ms(quantile(samples, 0.5), 2)}, p99 ${ms(quantile(samples, 0.99), 2)}`;
}

export async function benchHistory(context: BenchContext): Promise<BenchSection[]> {
  const plan = await planHistory(context);
  const bigDir = join(context.workDir, "history");
  await mkdir(bigDir, { recursive: true });
  const filled = await prefill(bigDir, plan.events);
  const history = count(plan.events);
  const prefillNote = `pre-filled ${history} events (${megabytes(filled.bytes)} of segments) through the store API in ${filled.seconds.toFixed(1)} s`;
  // Children live as long as the slowest phase may take (the guard's default is two minutes).
  const lifetimeMs = 30 * 60_000;
  const cli = (dataDir: string) => () =>
    startControlPlaneChild({
      dataDir,
      token: BENCH_TOKEN,
      readyTimeoutMs: 5 * 60_000,
      lifetimeMs,
    });
  const bare = (args: string[]) => () =>
    startControlPlaneChild({ dataDir: context.workDir, token: BENCH_TOKEN, args, lifetimeMs });

  // Cold start and memory: the real `node bin/leviathan.js control-plane`.
  const starts = context.quick ? 3 : 5;
  const bareMs = await medianColdStart(starts, bare(["-e", BARE_SERVER]), "/");
  const bareTsxMs = await medianColdStart(
    starts,
    bare(["--import", "tsx", "-e", BARE_SERVER]),
    "/",
  );
  const helpMs = await medianRun(starts, [join(ROOT, "bin", "leviathan.js"), "--help"]);
  const nodeMs = await medianRun(starts, ["-e", "0"]);
  let emptyIndex = 0;
  const emptyMs = await medianColdStart(
    starts,
    async () => {
      const dir = join(context.workDir, `cold-empty-${emptyIndex++}`);
      await mkdir(dir);
      return cli(dir)();
    },
    "/health",
  );
  // The last of these starts stays up for the memory and query figures.
  const bigSamples: number[] = [];
  let last = await coldStart(cli(bigDir), "/health");
  for (let i = 1; i < starts; i++) {
    bigSamples.push(last.ms);
    await last.child.kill("SIGTERM");
    last = await coldStart(cli(bigDir), "/health");
  }
  bigSamples.push(last.ms);
  const bigStart = median(bigSamples);
  const rssAfterStart = (await residentBytes(last.child.pid)) ?? Number.NaN;

  // Queries against that same child.
  const samples = context.quick ? 300 : 1_000;
  const summary = await latencies(last.child.url, "/v1/graph/summary", samples);
  const target = await latencies(last.child.url, `/v1/targets/${QUERY_TARGET}`, samples);
  const uncached = await uncachedSummaryLatencies(last.child.url, context.quick ? 100 : 200);
  const health = await latencies(last.child.url, "/health", samples);
  const summaryReply = await httpRequest(`${last.child.url}/v1/graph/summary`, { headers: AUTH });
  const targetReply = await httpRequest(`${last.child.url}/v1/targets/${QUERY_TARGET}`, {
    headers: AUTH,
  });
  const graph = (JSON.parse(summaryReply.body.toString()) as { nodes_by_type: object })
    .nodes_by_type;
  const targetTasks = Object.keys(
    (JSON.parse(targetReply.body.toString()) as { tasks: object }).tasks,
  ).length;
  const rssAfterQueries = (await residentBytes(last.child.pid)) ?? Number.NaN;
  await last.child.kill("SIGTERM");
  const rescan = await fullRescan(bigDir);

  // Ingest at history beside an empty store: alternated, best of two each.
  const ingestEvents = context.quick ? 30_000 : 150_000;
  const rates = { empty: [] as number[], big: [] as number[] };
  for (let rep = 0; rep < 2; rep++) {
    const emptyDir = join(context.workDir, `history-empty-${rep}`);
    await mkdir(emptyDir);
    for (const [which, dir] of [
      ["empty", emptyDir],
      ["big", bigDir],
    ] as const) {
      const run = `at-history-${which}-${rep}`;
      const result = await ingestThroughServer(dir, run, bundleBodies(run, ingestEvents, 100));
      rates[which].push(result.events / result.seconds);
    }
  }
  const emptyRate = Math.max(...rates.empty);
  const bigRate = Math.max(...rates.big);
  const p99 = (s: number[]) => quantile(s, 0.99);

  return [
    {
      title: `Ingest with ${history} events already stored`,
      notes: [
        ...plan.notes,
        prefillNote,
        `${count(ingestEvents)} events per run, bundles of 100, 32 clients; empty and full store alternated twice, best of each`,
        `every run (events/s): empty ${rates.empty.map((r) => count(Math.round(r))).join(", ")}; with history ${rates.big.map((r) => count(Math.round(r))).join(", ")}`,
      ],
      rows: [
        {
          measure: `ingest, ${history} stored`,
          figure: `${perSecond(bigRate, 1)} (${((bigRate / emptyRate) * 100).toFixed(0)}% of empty)`,
          baseline: `empty store: ${perSecond(emptyRate, 1)}`,
          goal: "within 10% of the empty store",
          met: bigRate >= emptyRate * 0.9,
        },
      ],
    },
    {
      title: `Queries over HTTP at ${history} events`,
      notes: [
        `${count(samples)} sequential requests each on one keep-alive connection after 50 warm-up; uncached: ${count(uncached.length)} summaries, each after storing one event, after 20 warm-up`,
        `graph at this history: ${JSON.stringify(graph)}; the summary reply is ${(summaryReply.body.length / 1024).toFixed(0)} KB, ${QUERY_TARGET}'s (${count(targetTasks)} tasks) ${(targetReply.body.length / 1024).toFixed(0)} KB`,
        `full rescan: read and JSON.parse all ${count(rescan.records)} lines in this process`,
      ],
      rows: [
        {
          measure: "GET /v1/graph/summary",
          figure: latencyText(summary),
          baseline: `full rescan ${(rescan.seconds * 1000).toFixed(0)} ms`,
          goal: "p99 < 5 ms",
          met: p99(summary) < 5,
        },
        {
          measure: "GET /v1/graph/summary right after an append (uncached)",
          figure: latencyText(uncached),
          baseline: `the same, cached: ${latencyText(summary)}`,
          goal: "p99 < 5 ms",
          met: p99(uncached) < 5,
        },
        {
          measure: `GET /v1/targets/${QUERY_TARGET}`,
          figure: latencyText(target),
          baseline: `full rescan ${(rescan.seconds * 1000).toFixed(0)} ms`,
          goal: "p99 < 5 ms",
          met: p99(target) < 5,
        },
        {
          measure: "GET /health (the HTTP floor)",
          figure: latencyText(health),
          baseline: "-",
          goal: "-",
        },
      ],
    },
    {
      title: "Cold start and memory of `node bin/leviathan.js control-plane`",
      notes: [
        `spawn to the first /health 200, median of ${starts}; ${existsSync(join(ROOT, "dist", ".build-stamp")) ? "the CLI ran dist/ (built by npm ci; bin/leviathan.js uses it while no source is newer)" : "the CLI ran the TypeScript sources through tsx (no dist/ build)"}`,
        "baseline: a bare node:http server child, spawn to its first reply (also behind the tsx loader)",
      ],
      rows: [
        {
          measure: "cold start, empty store",
          figure: ms(emptyMs, 0),
          baseline: `bare node ${ms(bareMs, 0)}; with tsx ${ms(bareTsxMs, 0)}`,
          goal: "< 200 ms",
          met: emptyMs < 200,
        },
        {
          measure: "`leviathan --help`, spawn to exit",
          figure: ms(helpMs, 0),
          baseline: `node -e 0: ${ms(nodeMs, 0)}`,
          goal: "< 200 ms",
          met: helpMs < 200,
        },
        {
          measure: `cold start, ${history} events`,
          figure: ms(bigStart, 0),
          baseline: `bare node ${ms(bareMs, 0)}; with tsx ${ms(bareTsxMs, 0)}`,
          goal: "< 3,000 ms",
          met: bigStart < 3_000,
        },
        {
          measure: `RSS (VmRSS) at ${history} events`,
          figure: `${megabytes(rssAfterStart)} after start, ${megabytes(rssAfterQueries)} after queries`,
          baseline: "-",
          goal: "< 300 MB",
          met: Math.max(rssAfterStart, rssAfterQueries) < 300 * 1024 * 1024,
        },
      ],
    },
  ];
}
