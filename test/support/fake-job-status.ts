/** What a test can make a Job's controller report. */
export type FakeJobState = "running" | "succeeded" | "failed" | "deadline-exceeded";

/** RFC 3339 to the second, as the API server writes timestamps. */
export function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** What the Job controller writes into `.status` for that state, started at `start`. */
export function fakeJobStatus(state: FakeJobState, start: string): Record<string, unknown> {
  const at = now();
  const condition = (type: string, reason?: string, message?: string) => ({
    type,
    status: "True",
    lastProbeTime: at,
    lastTransitionTime: at,
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
  });
  switch (state) {
    case "running":
      return { active: 1, ready: 0, terminating: 0, startTime: start, uncountedTerminatedPods: {} };
    case "succeeded":
      return {
        succeeded: 1,
        ready: 0,
        terminating: 0,
        startTime: start,
        completionTime: at,
        uncountedTerminatedPods: {},
        conditions: [
          condition(
            "SuccessCriteriaMet",
            "CompletionsReached",
            "Reached expected number of succeeded pods",
          ),
          condition("Complete", "CompletionsReached", "Reached expected number of succeeded pods"),
        ],
      };
    case "failed":
      return {
        failed: 1,
        ready: 0,
        terminating: 0,
        startTime: start,
        uncountedTerminatedPods: {},
        conditions: [
          condition(
            "FailureTarget",
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
          ),
          condition(
            "Failed",
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
          ),
        ],
      };
    case "deadline-exceeded":
      return {
        failed: 1,
        ready: 0,
        terminating: 0,
        startTime: start,
        uncountedTerminatedPods: {},
        conditions: [
          condition(
            "FailureTarget",
            "DeadlineExceeded",
            "Job was active longer than specified deadline",
          ),
          condition("Failed", "DeadlineExceeded", "Job was active longer than specified deadline"),
        ],
      };
  }
}
