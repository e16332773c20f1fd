/** A variable of the attempt's environment: a literal, or a reference to a Secret key. */
export type JobEnvVar =
  | { name: string; value: string }
  | { name: string; secretKeyRef: { name: string; key: string } };

/** Everything a runner needs to start one attempt. Built once, by `jobs/build-attempt-job`. */
export interface AttemptJob {
  /** Deterministic `worker-<attempt_id>` name (DESIGN §4.6). */
  name: string;
  namespace: string;
  labels: Record<string, string>;
  env: JobEnvVar[];
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
