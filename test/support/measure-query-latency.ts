// Measurement, not a test: `node --expose-gc --import tsx shared/control-plane/state/measure-query-latency.ts [events]`.
// Applies a synthetic stream (default 1,000,000 events over 20 targets), then times summary()
// and target() both as repeated reads and right after an apply (the cache just dropped), and the
// snapshot's cost. Prints numbers; asserts nothing.
import { performance } from "node:perf_hooks";
import { createControlPlaneState } from "../../shared/control-plane/state/create-control-plane-state.ts";
import type { StoredRecord } from "../../shared/events/types.ts";
import { recordOf } from "./state-helpers.ts";
import { syntheticEvents } from "./synthetic-stream.ts";

const EVENTS = Number(process.argv[2] ?? 1_000_000);
const SAMPLES = 2_000;

function percentiles(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  const ms = (v: number) => `${v.toFixed(4)} ms`;
  return `p50 ${ms(at(0.5))}  p99 ${ms(at(0.99))}  max ${ms(sorted.at(-1)!)}`;
}

function heapMb(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

const heapBefore = heapMb();
const state = createControlPlaneState();
const stream = syntheticEvents({
  seed: 42,
  events: EVENTS + SAMPLES * 2,
  targets: 20,
  live: 50,
  chaos: true,
});
let seq = 0;
function nextRecord(): StoredRecord {
  const spec = stream.next();
  if (spec.done) throw new Error("stream ended early");
  seq += 1;
  // Through JSON, as records reach the state (from HTTP or a segment file): flat strings.
  return JSON.parse(JSON.stringify(recordOf(spec.value, seq))) as StoredRecord;
}

let applying = 0;
const started = performance.now();
for (let i = 0; i < EVENTS; i++) {
  const record = nextRecord();
  const t = performance.now();
  state.apply(record);
  applying += performance.now() - t;
}
const wall = performance.now() - started;
const firstStarted = performance.now();
// The first query writes every task's entry once; later ones only what changed.
const summary = state.summary();
const firstQuery = performance.now() - firstStarted;
const targets = Object.keys(summary.targets);
const tasks = Object.values(summary.targets).reduce((n, t) => n + Object.keys(t.tasks).length, 0);
console.log(
  `${EVENTS.toLocaleString()} events: ${summary.nodes_by_type.Attempt?.toLocaleString()} attempts, ${tasks.toLocaleString()} tasks, ${targets.length} targets`,
);
console.log(
  `apply: ${applying.toFixed(0)} ms in all (${((applying / EVENTS) * 1000).toFixed(2)} µs each); generating + applying ${wall.toFixed(0)} ms`,
);

console.log(`first summary() after the stream: ${firstQuery.toFixed(1)} ms`);

function time(fn: () => unknown): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

const cachedSummary = Array.from({ length: SAMPLES }, () => time(() => state.summary()));
const cachedTarget = Array.from({ length: SAMPLES }, (_, i) =>
  time(() => state.target(targets[i % targets.length]!)),
);
console.log(`summary() repeated:        ${percentiles(cachedSummary)}`);
console.log(`target() repeated:         ${percentiles(cachedTarget)}`);

const freshSummary: number[] = [];
const freshTarget: number[] = [];
for (let i = 0; i < SAMPLES; i++) {
  const record = nextRecord();
  state.apply(record);
  freshTarget.push(time(() => state.target(record.target)));
  state.apply(nextRecord());
  freshSummary.push(time(() => state.summary()));
}
console.log(`summary() after an apply:  ${percentiles(freshSummary)}`);
console.log(
  `target() after an apply:   ${percentiles(freshTarget)}  (the target the record changed)`,
);

/** Snapshot, restore, and whether the restored state answers as the live one does. */
function roundTrip(): void {
  let json = "";
  const snapshotMs = time(() => {
    json = JSON.stringify(state.snapshot());
  });
  const megabytes = json.length / 1024 / 1024;
  const restored = createControlPlaneState();
  const restoreMs = time(() => restored.restore(JSON.parse(json)));
  console.log(
    `snapshot() + JSON.stringify: ${snapshotMs.toFixed(0)} ms, ${megabytes.toFixed(1)} MB; JSON.parse + restore(): ${restoreMs.toFixed(0)} ms`,
  );
  const same = JSON.stringify(restored.summary()) === JSON.stringify(state.summary());
  console.log(`restored summary equals the live one: ${same}`);
}
roundTrip();

// The generator's own bookkeeping goes with it; what is left is the state.
stream.return(undefined);
console.log(
  `heap held by the state (cached answers included): ~${(heapMb() - heapBefore).toFixed(0)} MB`,
);
