import { DOCKERFILE, type ReplayReport } from "./replay-types.ts";

/**
 * The report as the command prints it: with `json`, one JSON line on stdout (the plan in full
 * for `--plan`, the context as a count otherwise); without, the plan or a one-line summary.
 * A failure goes to stderr. Returns the exit code.
 */
export function printReplayReport(
  report: ReplayReport,
  json: boolean,
  out: { stdout: (text: string) => void; stderr: (text: string) => void },
): number {
  const summary = { ...report, context_files: report.context_files.length };
  if (json) out.stdout(`${JSON.stringify(report.plan ? report : summary)}\n`);
  else if (report.ok && report.plan) out.stdout(`${JSON.stringify(report.plan, null, 2)}\n`);
  else if (report.ok) {
    out.stdout(
      `replayed ${DOCKERFILE} at ${report.commit.slice(0, 12)} in ${report.seconds}s: ` +
        `${report.entry_points.map((e) => `${e.name} ${e.health.path} ${e.health.status}`).join(", ")}\n`,
    );
  }
  if (report.error) out.stderr(`replay failed: ${report.error}\n`);
  return report.ok ? 0 : 1;
}
