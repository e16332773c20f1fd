import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomically } from "../../fs/write-file-atomically.ts";
import { GITHUB_TOKEN_SECRET } from "../build-attempt-job.ts";
import type { AttemptJob, JobTokenFile } from "../types.ts";

/** The values a process runner has for the shared Secrets a Job's token files name. */
export interface ProcessJobSecrets {
  /** `leviathan-secrets/github-token`. */
  GITHUB_TOKEN?: string;
}

/**
 * What any program needs to run at all (find git and node, a home for git's config, a temp
 * folder, a locale); taken from the runner's own environment. Nothing else of it passes: no
 * other token, no NODE_OPTIONS.
 */
export const ESSENTIAL_ENV = ["PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TZ"] as const;

/**
 * Process-mode settings of the executor's isolation, passed on from the runner's
 * environment when set: they have no place in a Job, where the pod isolates the executor.
 */
export const PROCESS_ONLY_ENV = ["LEVIATHAN_EXECUTOR_ENV_FILE", "LEVIATHAN_EXECUTOR_UID"] as const;

export class MissingSecretError extends Error {
  override readonly name = "MissingSecretError";
}

/** A token file's value: the Job's own Secret, else one of the runner's shared ones. */
function tokenValue(job: AttemptJob, file: JobTokenFile, secrets: ProcessJobSecrets): string {
  const { name, key } = file.secret;
  const own = name === job.attemptSecret.name ? job.attemptSecret.data[key] : undefined;
  const shared =
    name === GITHUB_TOKEN_SECRET.name && key === GITHUB_TOKEN_SECRET.key
      ? secrets.GITHUB_TOKEN
      : undefined;
  const value = own ?? shared;
  if (!value) {
    const isShared = name === GITHUB_TOKEN_SECRET.name && key === GITHUB_TOKEN_SECRET.key;
    const hint = isShared ? ": set GITHUB_TOKEN for the process runner" : "";
    throw new MissingSecretError(
      `Job ${job.name}: no value for ${file.variable} (Secret ${name}, key ${key})${hint}`,
    );
  }
  return value;
}

/** Every token the job needs, checked before anything is written: a missing one leaves no job. */
export function resolveTokenFiles(
  job: AttemptJob,
  secrets: ProcessJobSecrets,
): Array<{ file: JobTokenFile; value: string }> {
  return job.tokenFiles.map((file) => ({ file, value: tokenValue(job, file, secrets) }));
}

/** `<home>/jobs/<job name>.tokens/`: the job's token files, 0600 in a 0700 folder. */
export function tokenDirOf(jobsDir: string, jobName: string): string {
  return join(jobsDir, `${jobName}.tokens`);
}

/**
 * Writes each token to its own file (0600, in a 0700 folder only the runner's user can enter)
 * and returns the variables that name them: the child gets the paths, never the values.
 */
export async function writeTokenFiles(
  dir: string,
  tokens: ReadonlyArray<{ file: JobTokenFile; value: string }>,
): Promise<Record<string, string>> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const variables: Record<string, string> = {};
  for (const { file, value } of tokens) {
    const path = join(dir, file.volume);
    await writeFileAtomically(path, `${value}\n`, 0o600);
    variables[file.variable] = path;
  }
  return variables;
}

export async function removeTokenFiles(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/**
 * The child's environment: the essentials, the Job's literal variables exactly as a pod would
 * see them, the token-file variables, and the process-only isolation settings. No token value.
 */
export function attemptProcessEnv(
  job: AttemptJob,
  tokenFileVariables: Readonly<Record<string, string>>,
  parent: NodeJS.ProcessEnv,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of [...ESSENTIAL_ENV, ...PROCESS_ONLY_ENV]) {
    const value = parent[name];
    if (value !== undefined) env[name] = value;
  }
  for (const variable of job.env) env[variable.name] = variable.value;
  return { ...env, ...tokenFileVariables };
}
