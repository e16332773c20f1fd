// Ingest throughput over loopback HTTP: bundles of 100 beside a raw append of the
// same bytes, and one event per request through group commit beside one fsync per request.
import { mkdir, open } from "node:fs/promises";
import { join } from "node:path";
import { errorMessage } from "../../shared/errors/error-message.ts";
import { httpRequest } from "../support/http-request.ts";
import { type BenchSection, count, perSecond } from "./bench-report.ts";
import {
  BENCH_TOKEN,
  benchEvent,
  bundleBodies,
  type LoadResult,
  postBatches,
  rawAppend,
  startBenchServer,
} from "./ingest-load.ts";

export interface BenchContext {
  quick: boolean;
  /** A fresh directory of this run's; removed when the run ends. */
  workDir: string;
}

const CLIENTS = 32;

async function freshDir(context: BenchContext, name: string): Promise<string> {
  const dir = join(context.workDir, name);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** Ingest through a fresh bench server: a short warm-up, then the timed batches. */
export async function ingestThroughServer(
  dir: string,
  run: string,
  batches: ReturnType<typeof bundleBodies>,
  fsyncMode: "group" | "per-append" = "group",
): Promise<LoadResult & { fsyncs: number; fsyncSeconds: number }> {
  const server = await startBenchServer(dir, fsyncMode);
  try {
    await postBatches(server.url, bundleBodies(`${run}-warm-up`, 2_000, 100), CLIENTS);
    const before = await fsyncTotals(server.url);
    const result = await postBatches(server.url, batches, CLIENTS);
    const after = await fsyncTotals(server.url);
    return {
      ...result,
      fsyncs: after.count - before.count,
      fsyncSeconds: after.seconds - before.seconds,
    };
  } catch (error) {
    // Say whether the server died and what it said last: a bare ECONNRESET explains nothing.
    const exit = await Promise.race([
      server.exited,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 2_000).unref()),
    ]);
    const state = exit ? `the server exited (${JSON.stringify(exit)})` : "the server is still up";
    throw new Error(
      `${run} (${fsyncMode}) failed: ${errorMessage(error)}; ${state}; its stderr ends: ${server.stderr().slice(-3_000)}`,
      { cause: error },
    );
  } finally {
    await server.kill("SIGTERM");
  }
}

/** The server's own fsync count and total fsync time, from its Prometheus metrics. */
async function fsyncTotals(url: string): Promise<{ count: number; seconds: number }> {
  const reply = await httpRequest(`${url}/metrics`, {
    headers: { authorization: `Bearer ${BENCH_TOKEN}` },
  });
  const text = reply.body.toString();
  const value = (name: string) =>
    Number(
      text.match(new RegExp(`^leviathan_store_fsync_duration_seconds_${name} (\\S+)`, "m"))?.[1],
    );
  return { count: value("count"), seconds: value("sum") };
}

/** `N fsyncs (k events each, m ms each)`. */
export function fsyncText(result: {
  events: number;
  fsyncs: number;
  fsyncSeconds: number;
}): string {
  const each = (result.fsyncSeconds / result.fsyncs) * 1000;
  return `${count(result.fsyncs)} fsyncs (${(result.events / result.fsyncs).toFixed(1)} events, ${each.toFixed(2)} ms each)`;
}

export async function benchBatchIngest(context: BenchContext): Promise<BenchSection> {
  const events = context.quick ? 50_000 : 300_000;
  const batches = bundleBodies("batch", events, 100);
  const raw = await rawAppend(await freshDir(context, "raw-batches"), batches);
  const http = await ingestThroughServer(await freshDir(context, "batch-ingest"), "batch", batches);
  const rawRate = raw.events / raw.seconds;
  const httpRate = http.events / http.seconds;
  return {
    title: "Ingest: ~1 KB events, 32 concurrent clients, bundles of 100, loopback HTTP",
    notes: [
      `${count(events)} events (${count(batches.length)} requests of ~${Math.round(batches[0]!.body.length / 1024)} KB); server in a child process; ${fsyncText(http)}`,
      "raw baseline: the same request bodies appended to one file in this process, one fdatasync per batch",
    ],
    rows: [
      {
        measure: "HTTP ingest (group commit)",
        figure: `${perSecond(http.events, http.seconds)} (${((httpRate / rawRate) * 100).toFixed(0)}% of raw)`,
        baseline: `raw append: ${perSecond(raw.events, raw.seconds)}`,
        goal: `>= 25% of raw (${perSecond(rawRate * 0.25, 1)})`,
        met: httpRate >= rawRate * 0.25,
      },
    ],
  };
}

/** One ~1 KB event per write, one fdatasync each: what one fsync per request costs at best. */
async function rawFsyncPerEvent(dir: string, events: number): Promise<LoadResult> {
  const handle = await open(join(dir, "raw-per-event.ndjson"), "w");
  const lines = Array.from({ length: events }, (_, i) =>
    Buffer.from(`${JSON.stringify(benchEvent("raw", "bench-0", i))}\n`),
  );
  const started = performance.now();
  try {
    for (const line of lines) {
      await handle.write(line);
      await handle.datasync();
    }
  } finally {
    await handle.close();
  }
  return { seconds: (performance.now() - started) / 1000, events, requests: events };
}

export async function benchSingleIngest(context: BenchContext): Promise<BenchSection> {
  const groupEvents = context.quick ? 12_000 : 60_000;
  const perAppendEvents = context.quick ? 2_000 : 10_000;
  const rawEvents = context.quick ? 3_000 : 10_000;
  const group = await ingestThroughServer(
    await freshDir(context, "single-group"),
    "single",
    bundleBodies("single", groupEvents, 1),
  );
  const perAppend = await ingestThroughServer(
    await freshDir(context, "single-per-append"),
    "single",
    bundleBodies("single", perAppendEvents, 1),
    "per-append",
  );
  const raw = await rawFsyncPerEvent(await freshDir(context, "raw-single"), rawEvents);
  const rawEach = (raw.seconds / raw.events) * 1000;
  const groupRate = group.events / group.seconds;
  return {
    title: "Ingest: one ~1 KB event per request, 32 concurrent clients",
    notes: [
      `group commit: ${count(groupEvents)} requests, ${fsyncText(group)}`,
      `per-append: ${count(perAppendEvents)} requests, ${fsyncText(perAppend)}`,
      `raw: ${count(rawEvents)} single-event writes, each followed by fdatasync, in this process (${rawEach.toFixed(2)} ms each)`,
    ],
    rows: [
      {
        measure: "HTTP, group commit",
        figure: perSecond(group.events, group.seconds),
        baseline: `same server, fsync per append: ${perSecond(perAppend.events, perAppend.seconds)}`,
        goal: ">= 8,000 events/s",
        met: groupRate >= 8_000,
      },
      {
        measure: "HTTP, fsync per append",
        figure: perSecond(perAppend.events, perAppend.seconds),
        baseline: `raw fsync per event: ${perSecond(raw.events, raw.seconds)}`,
        goal: "-",
      },
    ],
  };
}
