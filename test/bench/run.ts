// `npm run bench` (= node --import tsx test/bench/run.ts [--quick] [--only <step>]): every figure, each beside
// a baseline measured in the same run, with its goal and whether it was met.
// Not part of `npm test`; it never fails on a figure. Data goes to a temp dir, removed after.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchAttempt } from "./attempt-bench.ts";
import {
  type BenchSection,
  formatTable,
  loadText,
  machineLine,
  printSection,
} from "./bench-report.ts";
import { benchConsole } from "./console-bench.ts";
import { benchHistory } from "./history-bench.ts";
import { type BenchContext, benchBatchIngest, benchSingleIngest } from "./ingest-bench.ts";
import { benchLocalOnce } from "./local-once-bench.ts";
import { benchPostgres } from "./postgres-bench.ts";
import { benchSchedulerDecide } from "./scheduler-decide.ts";
import { benchTickHour } from "./tick-hour-bench.ts";

const quick = process.argv.includes("--quick");
// `npm run bench -- --only scheduler,"tick hour"` (comma-separated, repeatable): just those steps.
const only = process.argv.flatMap((arg, i) =>
  process.argv[i - 1] === "--only" ? arg.split(",") : [],
);
const workDir = await mkdtemp(join(tmpdir(), "leviathan-bench-"));
const context: BenchContext = { quick, workDir };
const removeWorkDir = () => rm(workDir, { recursive: true, force: true });
// Interrupted: children die with us (their stdio pipes close); the data must go too.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void removeWorkDir().finally(() => process.exit(130));
  });
}

console.log(`# Leviathan benchmarks (${quick ? "quick" : "full"} mode)`);
console.log(machineLine());
console.log(`data: ${workDir} (removed at the end)`);

const started = performance.now();
const sections: BenchSection[] = [];
const steps: Array<[string, () => Promise<BenchSection | BenchSection[]> | BenchSection]> = [
  ["batch ingest", () => benchBatchIngest(context)],
  ["single-event ingest", () => benchSingleIngest(context)],
  ["history", () => benchHistory(context)],
  ["postgres store", () => benchPostgres(context)],
  ["scheduler", () => benchSchedulerDecide()],
  ["tick hour", () => benchTickHour(context)],
  ["attempt", () => benchAttempt({ quick, workDir: join(workDir, "attempt") })],
  ["local mode", () => benchLocalOnce(context)],
  ["console", () => benchConsole(context)],
];
let failed = false;
try {
  for (const [name, step] of steps.filter(([name]) => only.length === 0 || only.includes(name))) {
    const t0 = performance.now();
    try {
      const result = await step();
      for (const section of Array.isArray(result) ? result : [result]) {
        printSection(section);
        sections.push(section);
      }
    } catch (error) {
      failed = true;
      console.error(`\n${name}: could not be measured: ${(error as Error).stack ?? error}`);
    }
    console.log(`   (${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
} finally {
  await removeWorkDir();
}

console.log(
  `\n## Goals (${quick ? "quick" : "full"} mode, ${((performance.now() - started) / 1000).toFixed(0)} s in all)`,
);
console.log(formatTable(sections.flatMap((s) => s.rows.filter((r) => r.met !== undefined))));
console.log(`at the end: ${loadText()}`);
// A figure that misses its goal is information, not a failure; a benchmark that crashed is.
process.exitCode = failed ? 1 : 0;
