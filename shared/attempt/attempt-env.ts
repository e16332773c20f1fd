import { isAbsolute } from "node:path";
import {
  EXECUTOR_ISOLATION_SETTINGS,
  EXECUTORS,
  type ExecutorIsolationSetting,
  type ExecutorName,
  isLoopbackHost,
  parseRepoUrl,
} from "../config/schema.ts";
import { errorMessage } from "../errors/error-message.ts";
import { TARGET_NAME_PATTERN } from "../events/schema.ts";
import { isSafeBranchName } from "../git/check-branch-name.ts";
import { REQUIRED_ATTEMPT_ENV, TOKEN_ATTEMPT_ENV } from "../jobs/build-attempt-job.ts";
import { normalizeRepoPath } from "../scope/check-path.ts";
import { hasTokenVariable, readTokenVariable } from "../tokens/read-token.ts";
import { parseExecutorCommand } from "./executors/command.ts";
import { DEFAULT_EXECUTOR_UID, parseExecutorUid } from "./isolation/detect-isolation.ts";

/** The attempt's environment, checked: what one attempt needs to run. */
export interface AttemptEnv {
  githubToken: string;
  targetName: string;
  /** https://…, or plain http://… on a loopback address. */
  targetRepoUrl: string;
  /** Owner and repository, from `targetRepoUrl`. */
  owner: string;
  repo: string;
  targetBranch: string;
  taskId: string;
  attemptId: string;
  controlPlaneUrl: string;
  controlPlaneToken: string;
  /** Absolute; the checkout is `<workspaceDir>/<attemptId>`. */
  workspaceDir: string;
  githubApiUrl: string;
  /** Unset when the Job did not say: no number is invented for the events. */
  attemptNumber?: number;
  attemptTimeoutSeconds: number;
  allowedPathPrefixes: string[];
  defaultExecutor?: ExecutorName;
  /** `LEVIATHAN_EXECUTOR_COMMAND`, for the `command` executor. */
  executorCommand?: string[];
  /** `LEVIATHAN_EXECUTOR_ISOLATION`: `none` lets the command executor run unisolated. */
  executorIsolation: ExecutorIsolationSetting;
  /** `LEVIATHAN_EXECUTOR_UID` (process mode, as root): the executor's user; default 65534. */
  executorUid: number;
  /** `LEVIATHAN_EXECUTOR_ENV_FILE` (process mode): the executor's own credentials. */
  executorEnvFile?: string;
  /** `LEVIATHAN_MAX_CHANGED_FILES`, `LEVIATHAN_MAX_CHANGE_BYTES`: unset means the defaults. */
  maxChangedFiles?: number;
  maxChangeBytes?: number;
}

export const DEFAULT_GITHUB_API_URL = "https://api.github.com";
/** The seed config's `attempt_timeout_seconds`. */
export const DEFAULT_ATTEMPT_TIMEOUT_SECONDS = 900;
export const DEFAULT_ALLOWED_PATH_PREFIXES = [".leviathan/", "docs/"] as const;
const MAX_TIMEOUT_SECONDS = 86_400;

/** One variable with an unusable value; the value itself is never quoted (it may be secret). */
export interface AttemptEnvProblem {
  name: string;
  message: string;
}

/** The environment cannot start an attempt: every missing variable and bad value, at once. */
export class AttemptEnvError extends Error {
  override readonly name = "AttemptEnvError";
  constructor(
    readonly missing: readonly string[],
    readonly problems: readonly AttemptEnvProblem[],
  ) {
    const lines: string[] = [];
    if (missing.length > 0) {
      lines.push(`missing required environment variables: ${missing.join(", ")}`);
      const tokens = missing.filter((name) => name.endsWith("_TOKEN"));
      if (tokens.length > 0) {
        lines.push(
          `(a token may also be given as a file: ${tokens.map((n) => `${n}_FILE`).join(", ")})`,
        );
      }
    }
    for (const problem of problems) lines.push(`${problem.name} ${problem.message}`);
    super(lines.join("\n"));
  }
}

/**
 * Reads the attempt's variables. Every missing required one (unset or blank) and every bad value
 * is collected into one `AttemptEnvError`, so a broken Job spec is fixed in one go.
 */
export function parseAttemptEnv(env: NodeJS.ProcessEnv): AttemptEnv {
  const isToken = (name: string) => (TOKEN_ATTEMPT_ENV as readonly string[]).includes(name);
  const missing = REQUIRED_ATTEMPT_ENV.filter((name) =>
    isToken(name) ? !hasTokenVariable(env, name) : !env[name]?.trim(),
  );
  const problems: AttemptEnvProblem[] = [];
  const bad = (name: string, message: string) => problems.push({ name, message });
  const text = (name: string) => env[name]?.trim() ?? "";
  const token = (name: string): string => {
    try {
      return readTokenVariable(env, name) ?? "";
    } catch (error) {
      // The message names the variable and the file, never the content.
      bad(`${name}_FILE`, errorMessage(error).replace(/^\S+_FILE: /, ""));
      return "";
    }
  };
  const githubToken = token("GITHUB_TOKEN");
  const controlPlaneToken = token("CONTROL_PLANE_TOKEN");

  const repoUrl = text("TARGET_REPO_URL");
  const coordinates = repoUrl ? parseRepoUrl(repoUrl) : undefined;
  if (coordinates && "error" in coordinates) bad("TARGET_REPO_URL", coordinates.error);
  checkPresent(env, "TARGET_NAME", (value) =>
    TARGET_NAME_PATTERN.test(value) && value.length <= 63
      ? null
      : "must match [a-z0-9][a-z0-9-]* (at most 63 characters)",
  );
  checkPresent(env, "TARGET_BRANCH", (value) =>
    isSafeBranchName(value) ? null : "must be a branch name",
  );
  checkPresent(env, "TASK_ID", (value) =>
    isSafeIdentifier(value) ? null : "may hold only letters, digits, '-', '_' and single dots",
  );
  checkPresent(env, "ATTEMPT_ID", (value) =>
    // It names a folder and a branch: nothing that could climb out of either.
    isSafeIdentifier(value) ? null : "may hold only letters, digits, '-', '_' and single dots",
  );
  checkPresent(env, "CONTROL_PLANE_URL", (value) =>
    isHttpUrl(value) ? null : "must be an http:// or https:// URL",
  );
  checkPresent(env, "LEVIATHAN_WORKSPACE_DIR", (value) =>
    isAbsolute(value) ? null : "must be an absolute path",
  );

  const githubApiUrl = text("GITHUB_API_URL") || DEFAULT_GITHUB_API_URL;
  // The token goes there: only https, or http on this machine (the local forge).
  if (!isTokenSafeUrl(githubApiUrl)) {
    bad("GITHUB_API_URL", "must be https:// (plain http:// only for loopback addresses)");
  }
  const attemptNumber = optionalInteger(env, "ATTEMPT_NUMBER", 1, Number.MAX_SAFE_INTEGER, bad);
  const timeout = optionalInteger(env, "ATTEMPT_TIMEOUT_SECONDS", 1, MAX_TIMEOUT_SECONDS, bad);
  const prefixes = parsePrefixes(text("LEVIATHAN_ALLOWED_PATH_PREFIXES"), bad);
  const defaultExecutor = text("LEVIATHAN_DEFAULT_EXECUTOR") || undefined;
  if (defaultExecutor && !(EXECUTORS as readonly string[]).includes(defaultExecutor)) {
    bad("LEVIATHAN_DEFAULT_EXECUTOR", `must be one of ${EXECUTORS.join(", ")}`);
  }
  const executorCommand = parseCommand(text("LEVIATHAN_EXECUTOR_COMMAND"), bad);
  const isolationSetting = text("LEVIATHAN_EXECUTOR_ISOLATION") || "required";
  if (!(EXECUTOR_ISOLATION_SETTINGS as readonly string[]).includes(isolationSetting)) {
    bad("LEVIATHAN_EXECUTOR_ISOLATION", `must be one of ${EXECUTOR_ISOLATION_SETTINGS.join(", ")}`);
  }
  const executorUid = parseExecutorUid(env.LEVIATHAN_EXECUTOR_UID);
  if (typeof executorUid === "object") bad("LEVIATHAN_EXECUTOR_UID", executorUid.error);
  const executorEnvFile = text("LEVIATHAN_EXECUTOR_ENV_FILE") || undefined;
  if (executorEnvFile && !isAbsolute(executorEnvFile)) {
    bad("LEVIATHAN_EXECUTOR_ENV_FILE", "must be an absolute path");
  }
  const maxChangedFiles = optionalInteger(env, "LEVIATHAN_MAX_CHANGED_FILES", 1, 1_000_000, bad);
  const maxChangeBytes = optionalInteger(
    env,
    "LEVIATHAN_MAX_CHANGE_BYTES",
    1,
    Number.MAX_SAFE_INTEGER,
    bad,
  );

  if (missing.length > 0 || problems.length > 0) throw new AttemptEnvError(missing, problems);
  const repo = coordinates as { owner: string; repo: string };
  return {
    githubToken,
    targetName: text("TARGET_NAME"),
    targetRepoUrl: repoUrl,
    owner: repo.owner,
    repo: repo.repo,
    targetBranch: text("TARGET_BRANCH"),
    taskId: text("TASK_ID"),
    attemptId: text("ATTEMPT_ID"),
    controlPlaneUrl: text("CONTROL_PLANE_URL"),
    controlPlaneToken,
    workspaceDir: text("LEVIATHAN_WORKSPACE_DIR"),
    githubApiUrl,
    ...(attemptNumber === undefined ? {} : { attemptNumber }),
    attemptTimeoutSeconds: timeout ?? DEFAULT_ATTEMPT_TIMEOUT_SECONDS,
    allowedPathPrefixes: prefixes ?? [...DEFAULT_ALLOWED_PATH_PREFIXES],
    ...(defaultExecutor ? { defaultExecutor: defaultExecutor as ExecutorName } : {}),
    ...(executorCommand ? { executorCommand } : {}),
    executorIsolation: isolationSetting as ExecutorIsolationSetting,
    executorUid: typeof executorUid === "number" ? executorUid : DEFAULT_EXECUTOR_UID,
    ...(executorEnvFile ? { executorEnvFile } : {}),
    ...(maxChangedFiles === undefined ? {} : { maxChangedFiles }),
    ...(maxChangeBytes === undefined ? {} : { maxChangeBytes }),
  };

  function checkPresent(
    source: NodeJS.ProcessEnv,
    name: string,
    check: (value: string) => string | null,
  ): void {
    const value = source[name]?.trim();
    if (!value) return;
    const message = check(value);
    if (message) bad(name, message);
  }
}

/** Task and attempt ids: a backlog id's characters, which are also safe in paths and refs. */
function isSafeIdentifier(value: string): boolean {
  return value.length <= 200 && /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(value);
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && !url.username;
  } catch {
    return false;
  }
}

function isTokenSafeUrl(value: string): boolean {
  try {
    const url = new URL(value);
    if (url.username || url.password) return false;
    return url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname));
  } catch {
    return false;
  }
}

function optionalInteger(
  env: NodeJS.ProcessEnv,
  name: string,
  min: number,
  max: number,
  bad: (name: string, message: string) => void,
): number | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    bad(name, `must be a whole number from ${min} to ${max}`);
    return undefined;
  }
  return value;
}

function parsePrefixes(
  raw: string,
  bad: (name: string, message: string) => void,
): string[] | undefined {
  if (!raw) return undefined;
  const prefixes = raw
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
  const wrong = prefixes.flatMap((prefix, i) => {
    const normalized = normalizeRepoPath(prefix);
    return normalized.ok ? [] : [`entry ${i + 1}: ${normalized.reason}`];
  });
  if (prefixes.length === 0) wrong.push("lists no prefix");
  if (wrong.length > 0) {
    bad(
      "LEVIATHAN_ALLOWED_PATH_PREFIXES",
      `is not a comma-separated list of paths (${wrong.join("; ")})`,
    );
    return undefined;
  }
  return prefixes;
}

function parseCommand(
  raw: string,
  bad: (name: string, message: string) => void,
): string[] | undefined {
  if (!raw) return undefined;
  try {
    return parseExecutorCommand(raw);
  } catch (error) {
    bad(
      "LEVIATHAN_EXECUTOR_COMMAND",
      errorMessage(error).replace(/^LEVIATHAN_EXECUTOR_COMMAND /, ""),
    );
    return undefined;
  }
}
