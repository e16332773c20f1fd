import { SECRET_ENV } from "../build-attempt-job.ts";
import type { AttemptJob } from "../types.ts";

/** The values a process runner puts where a Job has Secret references. */
export interface ProcessJobSecrets {
  GITHUB_TOKEN?: string;
  CONTROL_PLANE_TOKEN?: string;
}

/**
 * What any program needs to run at all (find git and node, a home for git's config, a temp
 * folder, a locale); taken from the runner's own environment. Nothing else of it passes: no
 * other token, no NODE_OPTIONS.
 */
export const ESSENTIAL_ENV = ["PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TZ"] as const;

export class MissingSecretError extends Error {
  override readonly name = "MissingSecretError";
}

/**
 * The child's environment: the Job's variables exactly as a pod would see them (literal
 * values, and Secret references resolved from `secrets`), over the essentials.
 */
export function attemptProcessEnv(
  job: AttemptJob,
  secrets: ProcessJobSecrets,
  parent: NodeJS.ProcessEnv,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ESSENTIAL_ENV) {
    const value = parent[name];
    if (value !== undefined) env[name] = value;
  }
  for (const variable of job.env) {
    if ("value" in variable) {
      env[variable.name] = variable.value;
      continue;
    }
    const { name, key } = variable.secretKeyRef;
    const source = (Object.keys(SECRET_ENV) as Array<keyof typeof SECRET_ENV>).find(
      (secret) => SECRET_ENV[secret].name === name && SECRET_ENV[secret].key === key,
    );
    const value = source ? secrets[source] : undefined;
    if (!source || value === undefined || value === "") {
      throw new MissingSecretError(
        `Job ${job.name}: no value for ${variable.name} (Secret ${name}, key ${key})` +
          (source ? `: set ${source} for the process runner` : ""),
      );
    }
    env[variable.name] = value;
  }
  return env;
}
