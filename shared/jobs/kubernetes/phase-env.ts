import type { IEnvFromSource } from "kubernetes-models/v1/EnvFromSource";
import type { IEnvVar } from "kubernetes-models/v1/EnvVar";
import { type AttemptPhase, EXECUTE_PHASE_ENV, EXECUTOR_SECRET } from "../attempt-phases.ts";
import type { AttemptJob } from "../types.ts";

export interface PhaseEnv {
  env: IEnvVar[];
  envFrom?: IEnvFromSource[];
}

const EXECUTE_NAMES: ReadonlySet<string> = new Set(EXECUTE_PHASE_ENV);

/**
 * A phase's environment, literal values only: never a `secretKeyRef`, so no token value is in
 * any container's environment. `prepare` and `deliver` get the attempt's variables and the
 * paths of their token files; `execute` gets the few it needs and the optional executor
 * Secret, whose keys are the executor's own (an API key for its model, say) and no one else's.
 */
export function phaseEnv(phase: AttemptPhase, job: AttemptJob): PhaseEnv {
  const literal = (variable: { name: string; value: string }): IEnvVar => ({
    name: variable.name,
    value: variable.value,
  });
  if (phase === "execute") {
    return {
      env: job.env.filter((variable) => EXECUTE_NAMES.has(variable.name)).map(literal),
      // Optional: without the Secret the container starts all the same.
      envFrom: [{ secretRef: { name: EXECUTOR_SECRET, optional: true } }],
    };
  }
  return {
    env: [
      ...job.env.map(literal),
      ...job.tokenFiles.map((file) => ({ name: file.variable, value: file.path })),
    ],
  };
}
