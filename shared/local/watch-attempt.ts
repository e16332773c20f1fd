import { setTimeout as delay } from "node:timers/promises";
import type { ControlPlaneClient } from "../control-plane/client/control-plane-client.ts";
import type { AttemptView } from "../control-plane/types.ts";
import { jobNameFor } from "../events/ids.ts";
import type { JobRunner } from "../jobs/types.ts";
import type { Reporter } from "./reporter.ts";

export interface AttemptResult {
  status: "succeeded" | "failed";
  pr_url: string | null;
  reason?: string;
  summary?: string;
  seconds: number;
}

/**
 * Follows one attempt through the control plane, printing each step as it is recorded, until it
 * succeeds or fails. If its process ends without a terminal event (it could not report), the
 * watch ends as failed after a short grace instead of waiting for the tick's reconciliation.
 */
export async function watchAttempt(options: {
  attemptId: string;
  controlPlane: () => ControlPlaneClient;
  jobs: JobRunner;
  reporter: Reporter;
  deadlineSeconds: number;
  pollMs?: number;
  stopped?: () => boolean;
}): Promise<AttemptResult> {
  const started = Date.now();
  const seen = new Set<string>();
  const poll = options.pollMs ?? 250;
  let endedAt: number | undefined;
  const seconds = () => Math.round((Date.now() - started) / 100) / 10;
  while (!options.stopped?.()) {
    const view = await options
      .controlPlane()
      .getAttempt(options.attemptId)
      .catch(() => undefined);
    for (const record of view?.records ?? []) {
      const type = record.event.event_type;
      if (seen.has(record.event.event_id)) continue;
      seen.add(record.event.event_id);
      describeStep(type, record.event.payload, options.reporter, options.attemptId, seconds());
    }
    if (view && (view.status === "succeeded" || view.status === "failed")) {
      return result(view, seconds());
    }
    const job = await options.jobs.status(jobNameFor(options.attemptId)).catch(() => undefined);
    if (job && (job.phase === "succeeded" || job.phase === "failed")) {
      endedAt ??= Date.now();
      if (Date.now() - endedAt > 5_000) {
        return {
          status: "failed",
          pr_url: null,
          reason: "lost",
          summary: `its process ended (${job.reason ?? job.phase}) without reporting`,
          seconds: seconds(),
        };
      }
    }
    if (Date.now() - started > (options.deadlineSeconds + 60) * 1000) {
      return {
        status: "failed",
        pr_url: null,
        reason: "timeout",
        summary: "no end recorded before the deadline",
        seconds: seconds(),
      };
    }
    await delay(poll);
  }
  return { status: "failed", pr_url: null, reason: "stopped", seconds: seconds() };
}

function describeStep(
  type: string,
  payload: Record<string, unknown>,
  reporter: Reporter,
  attemptId: string,
  seconds: number,
): void {
  const fields = { attempt_id: attemptId, event_type: type, seconds };
  switch (type) {
    case "attempt.created":
      reporter.say("attempt", `attempt ${attemptId}: Job created`, fields);
      break;
    case "attempt.started":
      reporter.say(
        "attempt",
        `attempt ${attemptId}: started (clone, execute, check scope, push)`,
        fields,
      );
      break;
    case "pr.created":
      reporter.say(
        "pr",
        `pull request opened: ${String(payload.pr_url)} (branch ${String(payload.branch_name)})`,
        {
          ...fields,
          pr_url: payload.pr_url,
        },
      );
      break;
    case "attempt.succeeded":
      reporter.say("attempt", `attempt ${attemptId}: succeeded after ${seconds} s`, fields);
      break;
    case "attempt.failed":
      reporter.say(
        "attempt",
        `attempt ${attemptId}: failed (${String(payload.reason)}${payload.error_summary ? `: ${String(payload.error_summary)}` : ""})`,
        { ...fields, reason: payload.reason },
      );
      break;
  }
}

function result(view: AttemptView, seconds: number): AttemptResult {
  const failed = [...view.records].reverse().find((r) => r.event.event_type === "attempt.failed");
  return {
    status: view.status as "succeeded" | "failed",
    pr_url: view.pr_url,
    ...(failed
      ? {
          reason: String(failed.event.payload.reason),
          summary: String(failed.event.payload.error_summary ?? ""),
        }
      : {}),
    seconds,
  };
}
