import type { AutonomyConfig } from "../config/schema.ts";
import { jobNameFor, labelValue } from "../events/ids.ts";
import type { AttemptRequest } from "../events/types.ts";
import type { AttemptJob, JobEnvVar } from "./types.ts";

/** A key of a Kubernetes Secret. Names as the reference deployment has them (DESIGN §12). */
export interface SecretKeyRef {
  name: string;
  key: string;
}

export const GITHUB_TOKEN_SECRET: SecretKeyRef = { name: "leviathan-secrets", key: "github-token" };
export const CONTROL_PLANE_TOKEN_SECRET: SecretKeyRef = {
  name: "leviathan-control-plane-secret",
  key: "LEVIATHAN_CONTROL_PLANE_TOKEN",
};

/**
 * Which environment variable each Secret key becomes. A runner without Secrets (the process
 * runner) resolves these from its own environment, by the same variable names.
 */
export const SECRET_ENV: Readonly<Record<"GITHUB_TOKEN" | "CONTROL_PLANE_TOKEN", SecretKeyRef>> = {
  GITHUB_TOKEN: GITHUB_TOKEN_SECRET,
  CONTROL_PLANE_TOKEN: CONTROL_PLANE_TOKEN_SECRET,
};

/** The label every attempt Job and its pod carry; `leviathan.dev/*` labels name the attempt. */
export const ATTEMPT_JOB_APP = "leviathan-worker";
export const TARGET_LABEL = "leviathan.dev/target";
export const TASK_LABEL = "leviathan.dev/task";
export const ATTEMPT_LABEL = "leviathan.dev/attempt";

/** DESIGN §5: the seed's nine, in the seed's order. */
export const REQUIRED_ATTEMPT_ENV = [
  "GITHUB_TOKEN",
  "TARGET_NAME",
  "TARGET_REPO_URL",
  "TARGET_BRANCH",
  "TASK_ID",
  "ATTEMPT_ID",
  "CONTROL_PLANE_URL",
  "CONTROL_PLANE_TOKEN",
  "LEVIATHAN_WORKSPACE_DIR",
] as const;

/** DESIGN §5: set by the worker from the config; the attempt has a default for each. */
export const OPTIONAL_ATTEMPT_ENV = [
  "GITHUB_API_URL",
  "ATTEMPT_NUMBER",
  "ATTEMPT_TIMEOUT_SECONDS",
  "LEVIATHAN_ALLOWED_PATH_PREFIXES",
  "LEVIATHAN_DEFAULT_EXECUTOR",
  "LEVIATHAN_EXECUTOR_COMMAND",
] as const;

export interface BuildAttemptJobOptions {
  /**
   * The config file's base name. Accepted so callers can pass what they loaded; the Job itself
   * reads no config file — everything it needs is in its environment.
   */
  configName?: string;
}

/** The one place an attempt's Job is described; runners turn it into a manifest or a process. */
export function buildAttemptJob(
  config: AutonomyConfig,
  request: AttemptRequest,
  _options: BuildAttemptJobOptions = {},
): AttemptJob {
  // A request for another target means the worker read the wrong config file: refuse rather
  // than run one target's task with another's repository and limits.
  if (request.target_id !== config.target_id) {
    throw new Error(
      `attempt ${request.attempt_id} is for target ${request.target_id}, config is for ${config.target_id}`,
    );
  }
  const env: JobEnvVar[] = [
    { name: "GITHUB_TOKEN", secretKeyRef: { ...GITHUB_TOKEN_SECRET } },
    { name: "TARGET_NAME", value: config.target_id },
    { name: "TARGET_REPO_URL", value: config.target_repo_url },
    { name: "TARGET_BRANCH", value: config.target_branch },
    { name: "TASK_ID", value: request.task_id },
    { name: "ATTEMPT_ID", value: request.attempt_id },
    { name: "CONTROL_PLANE_URL", value: config.control_plane_url },
    { name: "CONTROL_PLANE_TOKEN", secretKeyRef: { ...CONTROL_PLANE_TOKEN_SECRET } },
    { name: "LEVIATHAN_WORKSPACE_DIR", value: config.workspace_dir },
    { name: "GITHUB_API_URL", value: config.github_api_url },
    { name: "ATTEMPT_NUMBER", value: String(request.attempt_number) },
    { name: "ATTEMPT_TIMEOUT_SECONDS", value: String(config.attempt_timeout_seconds) },
    { name: "LEVIATHAN_ALLOWED_PATH_PREFIXES", value: config.allowed_path_prefixes.join(",") },
    { name: "LEVIATHAN_DEFAULT_EXECUTOR", value: config.default_executor },
  ];
  if (config.executor_command) {
    env.push({
      name: "LEVIATHAN_EXECUTOR_COMMAND",
      value: JSON.stringify(config.executor_command),
    });
  }
  return {
    name: jobNameFor(request.attempt_id),
    namespace: config.worker_namespace,
    labels: {
      app: ATTEMPT_JOB_APP,
      [TARGET_LABEL]: labelValue(request.target_id),
      [TASK_LABEL]: labelValue(request.task_id),
      [ATTEMPT_LABEL]: labelValue(request.attempt_id),
    },
    env,
    image: config.worker_image,
    deadlineSeconds: config.attempt_timeout_seconds,
  };
}
