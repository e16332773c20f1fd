import type { AutonomyConfig } from "../config/schema.ts";
import { jobNameFor, labelValue } from "../events/ids.ts";
import type { AttemptRequest } from "../events/types.ts";
import type { AttemptJob, JobEnvVar, JobTokenFile, SecretKeyRef } from "./types.ts";

export type { SecretKeyRef } from "./types.ts";

export const GITHUB_TOKEN_SECRET: SecretKeyRef = { name: "leviathan-secrets", key: "github-token" };
export const CONTROL_PLANE_TOKEN_SECRET: SecretKeyRef = {
  name: "leviathan-control-plane-secret",
  key: "LEVIATHAN_CONTROL_PLANE_TOKEN",
};

/** The key of `<job name>-token` that holds the attempt token. */
export const ATTEMPT_TOKEN_KEY = "control-plane-token";

/** The key of `<job name>-token` that holds the attempt's own GitHub token (with a GitHub App). */
export const ATTEMPT_GITHUB_TOKEN_KEY = "github-token";

/** Where Secret volumes are mounted in a Job's trusted containers. */
export const TOKEN_MOUNT_ROOT = "/var/run/secrets/leviathan";

/** The label every attempt Job and its pod carry; `leviathan.dev/*` labels name the attempt. */
export const ATTEMPT_JOB_APP = "leviathan-worker";
export const TARGET_LABEL = "leviathan.dev/target";
export const TASK_LABEL = "leviathan.dev/task";
export const ATTEMPT_LABEL = "leviathan.dev/attempt";

/**
 * The seed's nine, in the seed's order. The two tokens may also come as files
 * (`GITHUB_TOKEN_FILE`, `CONTROL_PLANE_TOKEN_FILE`), which is how a Job gives them.
 */
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

/** The required variables that are tokens, and so reach a Job only as files. */
export const TOKEN_ATTEMPT_ENV = ["GITHUB_TOKEN", "CONTROL_PLANE_TOKEN"] as const;

/** Set by the worker from the config; the attempt has a default for each. */
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
   * This attempt's control-plane credential, derived by the worker (`deriveAttemptToken`). It
   * goes into the Job's own Secret, never into its spec.
   */
  attemptToken: string;
  /**
   * This attempt's own GitHub token, minted by the worker from the config's GitHub App (one
   * repository, `contents` and `pull_requests` write, one hour). It goes into the Job's own
   * Secret beside the attempt token; without it the Job reads the shared `leviathan-secrets`.
   */
  githubToken?: string;
  /**
   * The config file's base name. Accepted so callers can pass what they loaded; the Job itself
   * reads no config file — everything it needs is in its environment.
   */
  configName?: string;
}

/** `<job name>-token`: the Secret with the attempt's own credentials. */
export function attemptSecretName(jobName: string): string {
  return `${jobName}-token`;
}

/** The one place an attempt's Job is described; runners turn it into a manifest or a process. */
export function buildAttemptJob(
  config: AutonomyConfig,
  request: AttemptRequest,
  options: BuildAttemptJobOptions,
): AttemptJob {
  // A request for another target means the worker read the wrong config file: refuse rather
  // than run one target's task with another's repository and limits.
  if (request.target_id !== config.target_id) {
    throw new Error(
      `attempt ${request.attempt_id} is for target ${request.target_id}, config is for ${config.target_id}`,
    );
  }
  if (!options.attemptToken) throw new Error("an attempt Job needs its attempt token");
  const name = jobNameFor(request.attempt_id);
  const secretName = attemptSecretName(name);
  const env: JobEnvVar[] = [
    { name: "TARGET_NAME", value: config.target_id },
    { name: "TARGET_REPO_URL", value: config.target_repo_url },
    { name: "TARGET_BRANCH", value: config.target_branch },
    { name: "TASK_ID", value: request.task_id },
    { name: "ATTEMPT_ID", value: request.attempt_id },
    { name: "CONTROL_PLANE_URL", value: config.control_plane_url },
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
  // Only when the config turns isolation off: the default needs no variable.
  if (config.executor_isolation === "none") {
    env.push({ name: "LEVIATHAN_EXECUTOR_ISOLATION", value: config.executor_isolation });
  }
  // Only when the config sets them: the attempt has the same defaults.
  if (config.max_changed_files !== undefined) {
    env.push({ name: "LEVIATHAN_MAX_CHANGED_FILES", value: String(config.max_changed_files) });
  }
  if (config.max_change_bytes !== undefined) {
    env.push({ name: "LEVIATHAN_MAX_CHANGE_BYTES", value: String(config.max_change_bytes) });
  }
  const githubSecret: SecretKeyRef = options.githubToken
    ? { name: secretName, key: ATTEMPT_GITHUB_TOKEN_KEY }
    : { ...GITHUB_TOKEN_SECRET };
  const tokenFiles: JobTokenFile[] = [
    {
      variable: "GITHUB_TOKEN_FILE",
      secret: githubSecret,
      volume: "github-token",
      path: `${TOKEN_MOUNT_ROOT}/github/${githubSecret.key}`,
    },
    {
      variable: "CONTROL_PLANE_TOKEN_FILE",
      secret: { name: secretName, key: ATTEMPT_TOKEN_KEY },
      volume: "attempt-token",
      path: `${TOKEN_MOUNT_ROOT}/attempt/${ATTEMPT_TOKEN_KEY}`,
    },
  ];
  return {
    name,
    namespace: config.worker_namespace,
    labels: {
      app: ATTEMPT_JOB_APP,
      [TARGET_LABEL]: labelValue(request.target_id),
      [TASK_LABEL]: labelValue(request.task_id),
      [ATTEMPT_LABEL]: labelValue(request.attempt_id),
    },
    env,
    tokenFiles,
    attemptSecret: {
      name: secretName,
      data: {
        [ATTEMPT_TOKEN_KEY]: options.attemptToken,
        ...(options.githubToken ? { [ATTEMPT_GITHUB_TOKEN_KEY]: options.githubToken } : {}),
      },
    },
    image: config.worker_image,
    deadlineSeconds: config.attempt_timeout_seconds,
  };
}
