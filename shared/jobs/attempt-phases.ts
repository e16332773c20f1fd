/**
 * How one attempt is split between trusted and untrusted code. In a Kubernetes
 * Job each phase is a container of the pod: init `prepare` (clone, read the task, copy the
 * checkout for the executor; trusted), init `execute` (the `command` executor, holding no
 * credential) and `deliver` (check the executor's files, commit, push, PR; trusted). The
 * process runner runs all three in one `leviathan attempt`, the executor as another user.
 */
export const ATTEMPT_PHASES = ["prepare", "execute", "deliver"] as const;
export type AttemptPhase = (typeof ATTEMPT_PHASES)[number];

/**
 * In a Job's pod, the trusted phases' own folder (an emptyDir mounted into `prepare` and
 * `deliver` only): the git directory of the clone and what `prepare` hands to `deliver`.
 */
export const TRUSTED_DIR_IN_POD = "/var/lib/leviathan/attempt";

/** The `execute` container's user: not the image's (10001), so it can read nothing of theirs. */
export const EXECUTOR_USER_ID = 10002;

/** The optional Secret whose every key becomes an environment variable of `execute` only. */
export const EXECUTOR_SECRET = "leviathan-executor";

/**
 * The only variables of the attempt's environment the `execute` container gets: what it needs
 * to find the executor's checkout and task, run the command and stop it in time.
 */
export const EXECUTE_PHASE_ENV = [
  "TARGET_NAME",
  "TASK_ID",
  "ATTEMPT_ID",
  "LEVIATHAN_WORKSPACE_DIR",
  "ATTEMPT_TIMEOUT_SECONDS",
  "LEVIATHAN_EXECUTOR_COMMAND",
] as const;

/** The container's arguments (after the image's entry point) for a phase. */
export function phaseArgs(phase: AttemptPhase): string[] {
  return phase === "execute"
    ? ["leviathan", "attempt", "execute"]
    : ["leviathan", "attempt", phase, "--trusted-dir", TRUSTED_DIR_IN_POD];
}
