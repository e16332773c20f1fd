import type { TickOutcome } from "./run-tick.ts";
import type { IneligibleTask } from "./types.ts";

/** A tick's outcome as lines a person reads (`leviathan tick`, local mode). */
export function describeDecision(outcome: TickOutcome): string {
  const { decision } = outcome;
  const prefix = outcome.dryRun ? "[dry run] " : "";
  const lines: string[] = [];
  const replayed = decision.replayed
    ? " (already decided by an earlier delivery of this tick)"
    : "";
  if (decision.action === "dispatch") {
    const unsent = outcome.dryRun
      ? " — not sent"
      : decision.dispatched === false
        ? " — not sent: another tick had already requested it"
        : "";
    lines.push(
      `${prefix}dispatch: task ${decision.task_id}, attempt ${decision.attempt_number} (${decision.attempt_id})${unsent}${replayed}`,
    );
  } else {
    lines.push(`${prefix}skip: ${decision.reason}${replayed}`);
    const ineligible = decision.details?.ineligible as IneligibleTask[] | undefined;
    for (const task of ineligible ?? []) {
      lines.push(`  - ${task.task_id} (line ${task.line}): ${task.reason}: ${task.message}`);
    }
    const problems = decision.details?.problems as
      | Array<{ line?: number; path?: string; message: string }>
      | undefined;
    for (const problem of problems ?? []) {
      lines.push(
        `  - ${problem.line ? `line ${problem.line}: ` : ""}${problem.path ? `${problem.path}: ` : ""}${problem.message}`,
      );
    }
    const waitingOn = decision.details?.pr_urls as string[] | undefined;
    for (const url of waitingOn ?? []) lines.push(`  open: ${url}`);
  }
  const recorded = outcome.events.map((e) => e.event_type);
  if (recorded.length > 0) {
    lines.push(`  ${outcome.dryRun ? "would record" : "recorded"}: ${recorded.join(", ")}`);
  }
  lines.push(`  forge requests: ${outcome.forgeRequests}`);
  if (outcome.redispatched.length > 0)
    lines.push(`  re-sent to the worker: ${outcome.redispatched.join(", ")}`);
  return lines.join("\n");
}
