import type { StoredRecord } from "../../events/types.ts";
import type { RecentEvent, Summary, TargetSummary } from "../types.ts";

export interface SummaryFormatOptions {
  /** `circuit_breaker_failures` per target, when a config names it: shows open/closed. */
  breakerThresholds?: Record<string, number>;
  /** Recent events shown per target; default 10. */
  recentPerTarget?: number;
}

/** `leviathan summary`: what happened, per target, for a person at a terminal. */
export function formatSummary(summary: Summary, options: SummaryFormatOptions = {}): string {
  const targets = Object.entries(summary.targets).sort(([a], [b]) => a.localeCompare(b));
  if (targets.length === 0) return "No events recorded yet.\n";
  const lines: string[] = [];
  for (const [id, target] of targets) {
    lines.push(...targetLines(id, target, summary.recent_events, options), "");
  }
  lines.push(
    `Graph: nodes ${counts(summary.nodes_by_type)}; edges ${counts(summary.edges_by_type)}`,
  );
  return `${lines.join("\n")}\n`;
}

function targetLines(
  id: string,
  target: TargetSummary,
  recent: readonly RecentEvent[],
  options: SummaryFormatOptions,
): string[] {
  const lines = [`Target ${id}`];
  lines.push(`  breaker:      ${breaker(id, target, options.breakerThresholds?.[id])}`);
  lines.push(`  last event:   ${target.last_event_at ?? "never"}`);
  lines.push(`  last tick:    ${target.last_tick_at ?? "never"}`);
  lines.push(`  last skip:    ${target.last_skip_reason ?? "none"}`);
  lines.push(`  attempts:     ${counts(target.attempts_by_status) || "none"}`);
  lines.push(`  running:      ${target.running_attempts.join(", ") || "none"}`);
  lines.push(`  open PRs:     ${target.open_prs.join(", ") || "none"}`);
  const tasks = Object.entries(target.tasks).sort(([a], [b]) => a.localeCompare(b));
  lines.push(`  tasks:        ${tasks.length === 0 ? "none" : ""}`.trimEnd());
  for (const [taskId, task] of tasks) {
    const flags = [task.running ? "running" : "", task.blocked ? "blocked" : ""].filter(Boolean);
    lines.push(
      `    ${taskId}: ${task.attempts} attempt(s), ${task.charged_attempts} charged, ` +
        `last ${task.last_status ?? "none"}${flags.length > 0 ? `, ${flags.join(", ")}` : ""}`,
    );
  }
  const mine = recent.filter((e) => e.target === id).slice(0, options.recentPerTarget ?? 10);
  lines.push(`  recent events:${mine.length === 0 ? " none" : ""}`);
  for (const event of mine) {
    const attempt = event.attempt_id ? ` ${event.attempt_id}` : "";
    lines.push(`    ${event.timestamp}  ${event.event_type}${attempt}  (${event.actor_id})`);
  }
  return lines;
}

function breaker(id: string, target: TargetSummary, threshold: number | undefined): string {
  const failures = target.consecutive_failures;
  const since = target.last_reset_at ? `; last reset ${target.last_reset_at}` : "";
  const plural = failures === 1 ? "" : "s";
  if (threshold === undefined) return `${failures} consecutive failure${plural}${since}`;
  if (failures >= threshold) {
    return (
      `OPEN (${failures} consecutive failure${plural}, limit ${threshold})${since}; ` +
      `close it with: leviathan circuit reset ${id}`
    );
  }
  return `closed (${failures} consecutive failure${plural}, opens at ${threshold})${since}`;
}

function counts(byName: Partial<Record<string, number>>): string {
  return Object.entries(byName)
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([name, n]) => `${name} ${n}`)
    .join(", ");
}

/** `leviathan events tail`: one line per record. */
export function formatEventLine(record: StoredRecord): string {
  const { event } = record;
  const attempt =
    typeof event.payload.attempt_id === "string" ? ` ${event.payload.attempt_id}` : "";
  const reason = typeof event.payload.reason === "string" ? ` reason=${event.payload.reason}` : "";
  return (
    `${record.seq}\t${event.timestamp}\t${record.target}\t${event.event_type}${attempt}${reason}` +
    `\t${event.event_id}\t(${event.actor_id})`
  );
}
