// A small real event history for the console's and alerting's tests, recorded through the
// control plane's ingest route with the events the tick and attempts themselves build:
//   alpha — ticking on time, one attempt succeeded with a PR (whose title holds markup), one
//           attempt running;
//   beta  — its last tick three hours ago on a five-minute schedule: stalled;
//   gamma — two failed attempts in a row against a breaker of two: open; the last failure's
//           summary holds markup; one task blocked;
// plus `filler` skips on alpha, so the log has several pages.
import { attemptIdFor } from "../../shared/events/ids.ts";
import type { LeviathanEvent } from "../../shared/events/types.ts";
import {
  attemptRequestedEvent,
  decidedEvent,
  skipEvent,
  type TickPolicy,
  taskBlockedEvent,
} from "../../shared/scheduler/scheduler-events.ts";

export const POLICY: TickPolicy = { schedule_cron: "*/5 * * * *", circuit_breaker_failures: 2 };
export const PR_TITLE = '<script>window.__pwned = "title"</script>Add <b>docs</b>';
export const ERROR_SUMMARY =
  '<img src=x onerror="window.__pwned = 1"><script>window.__pwned = "summary"</script> executor exited 1';
export const PR_URL = "http://127.0.0.1:9/leviathan/alpha/pull/7";

export interface ConsoleHistory {
  /** Every event, by target, in the order ingested. */
  byTarget: Record<string, LeviathanEvent[]>;
  succeeded: string;
  running: string;
  failed: string[];
  blockedTask: string;
  total: number;
}

const minutesBefore = (now: Date, minutes: number) => new Date(now.getTime() - minutes * 60_000);

function own(
  attemptId: string,
  type: string,
  at: Date,
  payload: Record<string, unknown>,
): LeviathanEvent {
  return {
    event_id: `${attemptId}.${type}`,
    event_type: type,
    timestamp: at.toISOString(),
    actor_id: "attempt",
    payload: { attempt_id: attemptId, ...payload },
  };
}

function attempt(target: string, task: string, number: number) {
  const id = attemptIdFor(target, task, number);
  return {
    id,
    ids: { target_id: target, task_id: task, attempt_number: number },
    request: {
      target_id: target,
      task_id: task,
      attempt_id: id,
      attempt_number: number,
      config: "dev.yaml",
    },
  };
}

/** The history, as of `now`; `filler` extra skips on alpha (default 120). */
export function consoleHistory(now: Date, filler = 120): ConsoleHistory {
  const alpha: LeviathanEvent[] = [];
  for (let i = 0; i < filler; i++) {
    const at = minutesBefore(now, 600 - i);
    alpha.push(skipEvent("alpha", `tick-filler-${i}`, { reason: "no_ready_task" }, at, POLICY));
  }
  const done = attempt("alpha", "docs-1", 1);
  const t = (m: number) => minutesBefore(now, m);
  alpha.push(
    attemptRequestedEvent(done.request, t(20)),
    decidedEvent(
      "alpha",
      "tick-a1",
      { action: "dispatch", task_id: "docs-1", attempt_id: done.id, attempt_number: 1 },
      t(20),
      POLICY,
    ),
    own(done.id, "attempt.created", t(19.9), done.ids),
    own(done.id, "attempt.started", t(19.8), { ...done.ids, isolation: "user+pid-namespace" }),
    own(done.id, "pr.created", t(15), {
      ...done.ids,
      pr_url: PR_URL,
      pr_number: 7,
      title: PR_TITLE,
      state: "open",
    }),
    own(done.id, "attempt.succeeded", t(15), { ...done.ids, pr_url: PR_URL, pr_number: 7 }),
  );
  const live = attempt("alpha", "docs-2", 1);
  alpha.push(
    attemptRequestedEvent(live.request, t(1)),
    decidedEvent(
      "alpha",
      "tick-a2",
      { action: "dispatch", task_id: "docs-2", attempt_id: live.id, attempt_number: 1 },
      t(1),
      POLICY,
    ),
    own(live.id, "attempt.created", t(0.9), live.ids),
  );

  const beta = [skipEvent("beta", "tick-b1", { reason: "max_open_prs" }, t(180), POLICY)];

  const gamma: LeviathanEvent[] = [];
  const failed: string[] = [];
  for (const number of [1, 2]) {
    const a = attempt("gamma", "fix-build", number);
    failed.push(a.id);
    const at = t(40 - number * 10);
    gamma.push(
      attemptRequestedEvent(a.request, at),
      decidedEvent(
        "gamma",
        `tick-g${number}`,
        { action: "dispatch", task_id: "fix-build", attempt_id: a.id, attempt_number: number },
        at,
        POLICY,
      ),
      own(a.id, "attempt.created", at, a.ids),
      own(a.id, "attempt.started", at, { ...a.ids, isolation: "user" }),
      own(a.id, "attempt.failed", new Date(at.getTime() + 60_000), {
        ...a.ids,
        reason: "executor_failed",
        failure_kind: "task",
        error_summary: ERROR_SUMMARY,
      }),
    );
  }
  gamma.push(
    taskBlockedEvent("gamma", "fix-build", 2, t(2)),
    skipEvent(
      "gamma",
      "tick-g3",
      { reason: "circuit_open", details: { consecutive_failures: 2 } },
      t(2),
      POLICY,
    ),
  );
  const byTarget = { alpha, beta, gamma };
  return {
    byTarget,
    succeeded: done.id,
    running: live.id,
    failed,
    blockedTask: "fix-build",
    total: alpha.length + beta.length + gamma.length,
  };
}

/** Records the history through `POST /v1/events/ingest`, one bundle per target. */
export async function recordHistory(
  url: string,
  token: string,
  history: ConsoleHistory,
): Promise<void> {
  for (const [target, events] of Object.entries(history.byTarget)) {
    const reply = await fetch(`${url}/v1/events/ingest`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ target, bundle_id: `console-history-${target}`, events }),
      signal: AbortSignal.timeout(20_000),
    });
    if (reply.status !== 200)
      throw new Error(`ingest for ${target}: ${reply.status} ${await reply.text()}`);
  }
}
