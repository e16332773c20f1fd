import { leviathanHome } from "../config/leviathan-home.ts";
import type { Logger } from "../log/logger.ts";
import { readTokenVariable } from "../tokens/read-token.ts";
import { createKubernetesJobRunner } from "./kubernetes/kubernetes-job-runner.ts";
import { createProcessJobRunner } from "./process/process-job-runner.ts";
import type { JobRunner } from "./types.ts";

export const JOB_RUNNERS = ["kubernetes", "process"] as const;
export type JobRunnerKind = (typeof JOB_RUNNERS)[number];

export function jobRunnerKind(env: NodeJS.ProcessEnv): JobRunnerKind {
  const value = env.LEVIATHAN_JOB_RUNNER?.trim() || "kubernetes";
  if (!(JOB_RUNNERS as readonly string[]).includes(value)) {
    throw new Error(
      `LEVIATHAN_JOB_RUNNER must be one of ${JOB_RUNNERS.join(", ")}, not ${JSON.stringify(value)}`,
    );
  }
  return value as JobRunnerKind;
}

/**
 * `LEVIATHAN_JOB_RUNNER` = `kubernetes` (default: in-cluster config, else
 * `KUBECONFIG`) or `process` (children under `<LEVIATHAN_HOME>/jobs`, given this process's
 * `GITHUB_TOKEN` and `CONTROL_PLANE_TOKEN` where the Job references Secrets). Returns the
 * runner for a namespace, one per namespace; an unknown kind throws at once.
 */
export function jobRunnerFromEnv(
  env: NodeJS.ProcessEnv,
  options: { logger?: Logger } = {},
): (namespace: string) => JobRunner {
  const kind = jobRunnerKind(env);
  const logger = options.logger;
  if (kind === "process") {
    const runner = createProcessJobRunner({
      home: leviathanHome(env),
      secrets: { GITHUB_TOKEN: readTokenVariable(env, "GITHUB_TOKEN") },
      ...(logger ? { logger } : {}),
    });
    return () => runner;
  }
  const runners = new Map<string, JobRunner>();
  return (namespace) => {
    let runner = runners.get(namespace);
    if (!runner) {
      runner = createKubernetesJobRunner({ namespace, ...(logger ? { logger } : {}) });
      runners.set(namespace, runner);
    }
    return runner;
  };
}
