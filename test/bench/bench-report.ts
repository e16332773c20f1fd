// How the benchmarks report: one row per figure, beside the baseline measured in the same run,
// the goal and whether it was met. Never a pass/fail exit: these are measurements.
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";

export interface BenchRow {
  measure: string;
  figure: string;
  /** What the figure is compared with, measured in this run. */
  baseline: string;
  goal: string;
  /** undefined: no goal for this row (a baseline or context). */
  met?: boolean;
}

export interface BenchSection {
  title: string;
  rows: BenchRow[];
  /** Anything the reader must know to read the figures (scaled down, how measured). */
  notes: string[];
}

export function machineLine(): string {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const memory = (totalmem() / 1024 ** 3).toFixed(1);
  return `machine: ${availableParallelism()} cores (${cpu}), ${memory} GiB RAM, node ${process.version}, ${process.platform}/${process.arch}; ${loadText()}`;
}

/** Other work on the machine skews every figure: printed at the start and at the end. */
export function loadText(): string {
  const [one, five] = loadavg();
  return `load average ${one?.toFixed(2)} (1 min), ${five?.toFixed(2)} (5 min)`;
}

function verdict(row: BenchRow): string {
  if (row.met === undefined) return "";
  return row.met ? "met" : "NOT met";
}

export function formatTable(rows: readonly BenchRow[]): string {
  const header = ["measure", "figure", "baseline (same run)", "goal", ""];
  const cells = rows.map((r) => [r.measure, r.figure, r.baseline, r.goal, verdict(r)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => v.padEnd(widths[i]!))
      .join(" | ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("-|-"), ...cells.map(line)].join(
    "\n",
  );
}

export function printSection(section: BenchSection): void {
  console.log(`\n## ${section.title}`);
  for (const note of section.notes) console.log(`   ${note}`);
  console.log(formatTable(section.rows));
}

/** The value at quantile q (0..1) of the samples: nearest rank. */
export function quantile(samples: readonly number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

export function median(samples: readonly number[]): number {
  return quantile(samples, 0.5);
}

export function perSecond(count: number, seconds: number): string {
  return `${Math.round(count / seconds).toLocaleString("en-US")} events/s`;
}

export function ms(value: number, digits = 1): string {
  return `${value.toFixed(digits)} ms`;
}

export function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}

export function count(value: number): string {
  return value.toLocaleString("en-US");
}
