// Ingest load for the benchmarks: ~1 KB attempt events in bundles, sent over loopback by N
// concurrent keep-alive clients, and the raw baseline of the same bytes appended to a file.
import { open } from "node:fs/promises";
import { Agent } from "node:http";
import { join } from "node:path";
import type { LeviathanEvent } from "../../shared/events/types.ts";
import { type ControlPlaneChild, startControlPlaneChild } from "../support/control-plane-child.ts";
import { httpRequest, jsonOf } from "../support/http-request.ts";

export const BENCH_TOKEN = "bench-token-not-a-secret-3f9e";
export const EVENT_BYTES = 1024;
const STEPS = ["requested", "started", "pr.created", "succeeded"] as const;

/** Event `i` of a run: attempts walk requested → started → pr.created → succeeded. */
export function benchEvent(run: string, target: string, i: number): LeviathanEvent {
  const attempt = Math.floor(i / STEPS.length);
  const step = STEPS[i % STEPS.length]!;
  const payload: Record<string, unknown> = {
    attempt_id: `${run}-attempt-${attempt}`,
    task_id: `task-${attempt % 500}`,
  };
  if (step === "pr.created") {
    payload.pr_url = `https://forge.example/${target}/pull/${attempt}`;
    payload.pr_number = attempt + 1;
  } else {
    payload.target_id = target;
    payload.attempt_number = 1;
  }
  const event: LeviathanEvent = {
    event_id: `${run}-${i}`,
    event_type: step === "pr.created" ? step : `attempt.${step}`,
    timestamp: new Date(Date.UTC(2024, 4, 1) + i * 1000).toISOString(),
    actor_id: "bench",
    payload,
  };
  // Padded so each event serialises to about EVENT_BYTES.
  const size = Buffer.byteLength(JSON.stringify(event));
  payload.note = "x".repeat(Math.max(0, EVENT_BYTES - size - 10));
  return event;
}

export interface Batch {
  body: Buffer;
  events: number;
}

/** `count` events as bundles of `batchSize`, serialised up front so clients only send. */
export function bundleBodies(run: string, count: number, batchSize: number, targets = 8): Batch[] {
  const batches: Batch[] = [];
  for (let first = 0, k = 0; first < count; first += batchSize, k++) {
    const target = `bench-${k % targets}`;
    const events = Array.from({ length: Math.min(batchSize, count - first) }, (_, j) =>
      benchEvent(run, target, first + j),
    );
    const body = JSON.stringify({ target, bundle_id: `${run}-bundle-${k}`, events });
    batches.push({ body: Buffer.from(body), events: events.length });
  }
  return batches;
}

export interface LoadResult {
  seconds: number;
  events: number;
  requests: number;
}

/**
 * Posts every batch to `/v1/events/ingest` from `clients` concurrent clients (one keep-alive
 * connection each) and times first send to last acknowledgement. Each reply must report all
 * its events as newly stored, so the figure is real ingest, never dedupe.
 */
export async function postBatches(
  url: string | readonly string[],
  batches: Batch[],
  clients: number,
): Promise<LoadResult> {
  // Several control planes: client i talks to urls[i % n] throughout.
  const urls = typeof url === "string" ? [url] : url;
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  let next = 0;
  let events = 0;
  async function client(index: number): Promise<void> {
    const base = urls[index % urls.length]!;
    while (next < batches.length) {
      const batch = batches[next++]!;
      const reply = await httpRequest(`${base}/v1/events/ingest`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${BENCH_TOKEN}`,
          "content-type": "application/json",
          "content-length": batch.body.length,
        },
        body: batch.body,
        agent,
        timeoutMs: 120_000,
      });
      const outcome = reply.status === 200 ? (jsonOf(reply) as { ingested: number }) : undefined;
      if (outcome?.ingested !== batch.events) {
        throw new Error(`ingest replied ${reply.status}: ${reply.body.toString().slice(0, 300)}`);
      }
      events += batch.events;
    }
  }
  const started = performance.now();
  try {
    await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
  } finally {
    agent.destroy();
  }
  return { seconds: (performance.now() - started) / 1000, events, requests: batches.length };
}

/** The raw baseline: the same bytes appended to one file, one fdatasync per batch. */
export async function rawAppend(dir: string, batches: Batch[]): Promise<LoadResult> {
  const handle = await open(join(dir, "raw-baseline.ndjson"), "w");
  let events = 0;
  const started = performance.now();
  try {
    for (const batch of batches) {
      await handle.write(batch.body);
      await handle.datasync();
      events += batch.events;
    }
  } finally {
    await handle.close();
  }
  return { seconds: (performance.now() - started) / 1000, events, requests: batches.length };
}

const BENCH_SERVER = join(import.meta.dirname, "bench-server.ts");

/** The control plane in a child process (so clients and server do not share one event loop). */
export function startBenchServer(
  dataDir: string,
  fsyncMode: "group" | "per-append" = "group",
): Promise<ControlPlaneChild> {
  return startControlPlaneChild({
    dataDir,
    token: BENCH_TOKEN,
    args: ["--import", "tsx", BENCH_SERVER],
    env: { BENCH_FSYNC_MODE: fsyncMode },
    lifetimeMs: 30 * 60_000,
    readyTimeoutMs: 5 * 60_000,
  });
}
