import { readFileSync } from "node:fs";
import { parseConfig } from "../../shared/config/load-config.ts";
import type { AutonomyConfig } from "../../shared/config/schema.ts";
import type { AttemptSummary, TargetState, TaskState } from "../../shared/control-plane/types.ts";
import { formatProvenance } from "../../shared/forge/provenance.ts";
import type { PullRequest } from "../../shared/forge/types.ts";

/** The seed config (ops/autonomy/dev.yaml) as the tick would load it, with overrides. */
export function seedConfig(overrides: Partial<AutonomyConfig> = {}): AutonomyConfig {
  const text = readFileSync(new URL("../../ops/autonomy/dev.yaml", import.meta.url), "utf8");
  return { ...parseConfig(text, "dev.yaml"), ...overrides };
}

/** A target with no events: what `GET /v1/targets/radix` answers on a fresh store. */
export function emptyTarget(overrides: Partial<TargetState> = {}): TargetState {
  return {
    target_id: "radix",
    tasks: {},
    running_attempts: [],
    consecutive_failures: 0,
    last_reset_at: null,
    running_details: [],
    open_pull_requests: [],
    ...overrides,
  };
}

export function taskState(overrides: Partial<TaskState> = {}): TaskState {
  return {
    attempts: 0,
    charged_attempts: 0,
    running: false,
    last_status: null,
    blocked: false,
    ...overrides,
  };
}

export function runningAttempt(overrides: Partial<AttemptSummary> = {}): AttemptSummary {
  return {
    attempt_id: "attempt-task-1-0badf00d",
    task_id: "task-1",
    attempt_number: 1,
    status: "running",
    requested_at: "2025-01-01T00:00:00.000Z",
    started_at: "2025-01-01T00:00:10.000Z",
    failure_reason: null,
    ...overrides,
  };
}

/** An open PR of the seed's repository; `task` ties it to a task of `target` by its marker. */
export function pullRequest(
  number: number,
  options: {
    head?: string;
    task?: string;
    target?: string;
    body?: string | null;
    /** `owner/name` of the head's repository; default the seed config's target repository. */
    headRepo?: string | null;
  } = {},
): PullRequest {
  const marker = options.task
    ? `\n\n${formatProvenance({
        target: options.target ?? "radix",
        task: options.task,
        attempt: `attempt-${options.task}-0badf00d`,
      })}\n`
    : "";
  return {
    number,
    html_url: `https://github.com/iangreen74/radix/pull/${number}`,
    state: "open",
    merged: false,
    title: `PR ${number}`,
    body: options.body === undefined ? `Proposed change.${marker}` : options.body,
    head_ref: options.head ?? `agent/backlog-propose-attempt-x-${number}`,
    head_repo: options.headRepo === undefined ? "iangreen74/radix" : options.headRepo,
    base_ref: "main",
  };
}

/** A backlog task as YAML lines (two-space list indentation), for readable test tables. */
export function taskYaml(fields: Record<string, string>): string {
  const lines = Object.entries(fields).map(([key, value]) => `    ${key}: ${value}`);
  return `  - ${lines.join("\n").trimStart()}\n`;
}

export const NOW = new Date("2025-01-01T01:00:00.000Z");
