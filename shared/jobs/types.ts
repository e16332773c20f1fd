/** A literal variable of the attempt's environment. Token values are never one. */
export interface JobEnvVar {
  name: string;
  value: string;
}

/** A key of a Kubernetes Secret. */
export interface SecretKeyRef {
  name: string;
  key: string;
}

/**
 * A token the attempt's trusted part reads from a file, never from its environment: the
 * variable (`GITHUB_TOKEN_FILE`, `CONTROL_PLANE_TOKEN_FILE`) names the file. In a Job's pod the
 * file is a key of a Secret volume mounted only into the trusted containers; a runner without
 * Secrets (the process runner) writes the value to a file of its own and points the variable
 * there.
 */
export interface JobTokenFile {
  variable: "GITHUB_TOKEN_FILE" | "CONTROL_PLANE_TOKEN_FILE";
  secret: SecretKeyRef;
  /** The pod's volume for this Secret, mounted at `dirname(path)`. */
  volume: string;
  /** The file inside a Job's pod. */
  path: string;
}

/**
 * The Secret `<job name>-token` with this attempt's own credentials (its attempt token; with a
 * GitHub App, its GitHub token), created by the runner with the Job and owned by it, so it is
 * deleted with it. The values exist only in this object and in that Secret: never in a spec, a
 * log or an event.
 */
export interface AttemptSecret {
  name: string;
  data: Record<string, string>;
}

/** Everything a runner needs to start one attempt. Built once, by `jobs/build-attempt-job`. */
export interface AttemptJob {
  /** Deterministic `worker-<attempt_id>` name. */
  name: string;
  namespace: string;
  labels: Record<string, string>;
  /** The attempt's variables with literal values, in order; the `*_FILE` ones come from `tokenFiles`. */
  env: JobEnvVar[];
  tokenFiles: JobTokenFile[];
  attemptSecret: AttemptSecret;
  image: string;
  deadlineSeconds: number;
}

export type JobPhase = "pending" | "running" | "succeeded" | "failed" | "missing";

export interface JobStatus {
  name: string;
  phase: JobPhase;
  /** Attempt id from the Job's labels, when known. */
  attemptId?: string;
  startedAt?: string;
  finishedAt?: string;
  /** Why it failed, as the runner knows it: `DeadlineExceeded`, `exit code 1`, … */
  reason?: string;
}

export interface JobRunner {
  /** Idempotent: a Job that already exists is success with `created: false`. */
  submit(job: AttemptJob): Promise<{ created: boolean }>;
  status(name: string): Promise<JobStatus>;
  /** The target's Jobs (by the `leviathan.dev/target` label). */
  list(targetId: string): Promise<JobStatus[]>;
}

export class JobRunnerUnavailableError extends Error {
  override readonly name = "JobRunnerUnavailableError";
}
