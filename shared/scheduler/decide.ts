import type { AutonomyConfig } from "../config/schema.ts";
import { attemptIdFor } from "../events/ids.ts";
import type { AttemptRequest } from "../events/types.ts";
import { nextAttemptNumber } from "./rules/attempt-number.ts";
import { checkAutonomyEnabled } from "./rules/autonomy-enabled.ts";
import { checkBacklogValid } from "./rules/backlog-valid.ts";
import { checkCircuitBreaker } from "./rules/circuit-breaker.ts";
import { checkMaxOpenPullRequests } from "./rules/max-open-prs.ts";
import { checkMaxRunningAttempts } from "./rules/max-running-attempts.ts";
import { selectTask } from "./rules/select-task.ts";
import { buildEligibilityContext } from "./rules/task-eligibility.ts";
import {
  attemptRequestedEvent,
  skipEvent,
  taskBlockedEvent,
  tickPolicyOf,
} from "./scheduler-events.ts";
import type { DecisionInput, Skip, TickPlan } from "./types.ts";

function skipPlan(
  config: AutonomyConfig,
  tickId: string,
  now: Date,
  skip: Skip,
  before: TickPlan["events"] = [],
): TickPlan {
  return {
    decision: {
      action: "skip",
      reason: skip.reason,
      ...(skip.details ? { details: skip.details } : {}),
    },
    events: [...before, skipEvent(config.target_id, tickId, skip, now, tickPolicyOf(config))],
  };
}

/**
 * The plan when the tick must not gather anything (rule 0: autonomy disabled), else null.
 * The I/O layer calls this first and asks the control plane and forge only on null.
 */
export function decideBeforeInputs(input: {
  config: AutonomyConfig;
  tickId: string;
  now: Date;
}): TickPlan | null {
  const skip = checkAutonomyEnabled(input.config);
  return skip ? skipPlan(input.config, input.tickId, input.now, skip) : null;
}

/** The guardrails 0–4 in order; the first that returns a skip stops the tick. */
export const GUARDRAILS: ReadonlyArray<(input: DecisionInput) => Skip | null> = [
  (input) => checkAutonomyEnabled(input.config),
  (input) => checkCircuitBreaker(input.config, input.target),
  (input) => checkMaxOpenPullRequests(input.config, input.openPullRequests),
  (input) => checkMaxRunningAttempts(input.config, input.target),
  (input) => checkBacklogValid(input.backlog),
];

/**
 * One tick's decision for one target, pure: the same input gives the same plan,
 * ids included. Guardrails apply in the order of the rules below (`rules/`), then the first
 * eligible task is chosen.
 */
export function decide(input: DecisionInput): TickPlan {
  const { config, backlog, openPullRequests, target, tickId, now } = input;
  for (const guardrail of GUARDRAILS) {
    const skip = guardrail(input);
    if (skip) return skipPlan(config, tickId, now, skip);
  }
  if (!backlog.ok || openPullRequests === "unavailable") {
    throw new Error("unreachable: the guardrails skip an invalid backlog and an unknown PR list");
  }

  const context = buildEligibilityContext(config, target, backlog.tasks, openPullRequests);
  const selection = selectTask(backlog.tasks, context);
  const blocked = selection.newlyBlocked.map((b) =>
    taskBlockedEvent(config.target_id, b.task_id, b.attempts, now),
  );
  if (!selection.task) {
    return skipPlan(
      config,
      tickId,
      now,
      { reason: "no_ready_task", details: { ineligible: selection.ineligible } },
      blocked,
    );
  }

  const task_id = selection.task.id;
  const attempt_number = nextAttemptNumber(target, task_id);
  const attempt_id = attemptIdFor(config.target_id, task_id, attempt_number);
  const request = {
    target_id: config.target_id,
    task_id,
    attempt_id,
    attempt_number,
    config: input.configName,
  } satisfies AttemptRequest;
  const requested = attemptRequestedEvent(request, now);
  return {
    decision: {
      action: "dispatch",
      task_id,
      attempt_id,
      attempt_number,
      ...(selection.ineligible.length > 0 ? { details: { ineligible: selection.ineligible } } : {}),
    },
    events: [...blocked, requested],
    dispatch: { request, event: requested },
  };
}
