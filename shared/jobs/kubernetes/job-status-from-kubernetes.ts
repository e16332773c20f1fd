import type { V1Job } from "@kubernetes/client-node";
import { ATTEMPT_LABEL } from "../build-attempt-job.ts";
import type { JobStatus } from "../types.ts";

function iso(value: Date | string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value instanceof Date ? value.toISOString() : value;
}

/** The exact attempt id: the container's `ATTEMPT_ID`, else the (lowercased) label. */
function attemptIdOf(job: V1Job): string | undefined {
  for (const container of job.spec?.template.spec?.containers ?? []) {
    const variable = container.env?.find((v) => v.name === "ATTEMPT_ID");
    if (variable?.value) return variable.value;
  }
  return job.metadata?.labels?.[ATTEMPT_LABEL];
}

/**
 * A batch/v1 Job's status as a `JobStatus`. The controller's terminal conditions decide
 * (`Complete`, or `Failed` with its reason — `DeadlineExceeded` when `activeDeadlineSeconds`
 * killed it, `BackoffLimitExceeded` when its one pod failed); `SuccessCriteriaMet` and
 * `FailureTarget` are set first on newer clusters, while the pods are still terminating, and
 * mean the same. Without a terminal condition, an active pod means running, else pending.
 */
export function jobStatusFromKubernetes(job: V1Job): JobStatus {
  const name = job.metadata?.name ?? "";
  const status = job.status ?? {};
  const conditions = (status.conditions ?? []).filter((c) => c.status === "True");
  const base: JobStatus = { name, phase: "pending" };
  const attemptId = attemptIdOf(job);
  if (attemptId) base.attemptId = attemptId;
  const startedAt = iso(status.startTime);
  if (startedAt) base.startedAt = startedAt;

  const failed = conditions.find((c) => c.type === "Failed" || c.type === "FailureTarget");
  if (failed) {
    const finishedAt = iso(failed.lastTransitionTime);
    return {
      ...base,
      phase: "failed",
      ...(finishedAt ? { finishedAt } : {}),
      reason: failed.reason ?? "Failed",
    };
  }
  const complete = conditions.find((c) => c.type === "Complete" || c.type === "SuccessCriteriaMet");
  if (complete) {
    const finishedAt = iso(status.completionTime) ?? iso(complete.lastTransitionTime);
    return { ...base, phase: "succeeded", ...(finishedAt ? { finishedAt } : {}) };
  }
  if ((status.active ?? 0) > 0) return { ...base, phase: "running" };
  return base;
}
