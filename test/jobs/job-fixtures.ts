import { readFileSync } from "node:fs";
import { parseConfig } from "../../shared/config/load-config.ts";
import type { AutonomyConfig } from "../../shared/config/schema.ts";
import { attemptIdFor } from "../../shared/events/ids.ts";
import type { AttemptRequest } from "../../shared/events/types.ts";
import { buildAttemptJob } from "../../shared/jobs/build-attempt-job.ts";
import type { AttemptJob } from "../../shared/jobs/types.ts";

/** The seed config (ops/autonomy/dev.yaml), with overrides. */
export function seedConfig(overrides: Partial<AutonomyConfig> = {}): AutonomyConfig {
  const text = readFileSync(new URL("../../ops/autonomy/dev.yaml", import.meta.url), "utf8");
  return { ...parseConfig(text, "dev.yaml"), ...overrides };
}

/** A request as the tick makes it: the attempt id derived from target, task and number. */
export function attemptRequest(
  taskId = "task-1",
  attemptNumber = 1,
  targetId = "radix",
): AttemptRequest {
  return {
    target_id: targetId,
    task_id: taskId,
    attempt_id: attemptIdFor(targetId, taskId, attemptNumber),
    attempt_number: attemptNumber,
    config: "dev.yaml",
  };
}

/** What the worker would put in the Job's Secret; recognisable in any leak check. */
export const FAKE_ATTEMPT_TOKEN = "lvat1~radix~attempt-fake~FAKE-ATTEMPT-TOKEN-0123456789";

/** The Job the worker would submit for that task, through the one builder. */
export function attemptJob(
  options: { taskId?: string; attemptNumber?: number; config?: Partial<AutonomyConfig> } = {},
): { job: AttemptJob; request: AttemptRequest } {
  const config = seedConfig(options.config);
  const request = attemptRequest(options.taskId, options.attemptNumber, config.target_id);
  return {
    job: buildAttemptJob(config, request, { attemptToken: FAKE_ATTEMPT_TOKEN }),
    request,
  };
}
