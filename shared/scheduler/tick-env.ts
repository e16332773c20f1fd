import { configPathFrom, DEFAULT_CONFIG_PATH } from "../config/load-config.ts";
import { JOB_RUNNERS, type JobRunnerKind } from "../jobs/job-runner-from-env.ts";
import { readTokenVariable, TokenFileError } from "../tokens/read-token.ts";

/**
 * The tick's environment, checked once at start. Tokens are read again for each tick (a
 * mounted Secret may be rotated under a running pod); everything else is fixed here.
 */
export interface TickEnv {
  /** `LEVIATHAN_CONFIG`: the default target's file; `<target>.yaml` files sit beside it. */
  configPath: string;
  /** `CONTROL_PLANE_TOKEN` (or its file): the bearer token a manual `POST /` must carry. */
  gateToken?: string;
  /** `K_SINK`, as a SinkBinding injects it: where attempt requests go, before `worker_url`. */
  sink?: string;
  /** `LEVIATHAN_JOB_RUNNER`: whose Jobs reconciliation lists. */
  jobRunner: JobRunnerKind;
  /** The environment itself, for what is read per tick: tokens, the control plane's location. */
  source: NodeJS.ProcessEnv;
}

/**
 * The environment cannot run the tick: every bad variable at once, each line starting with the
 * variable's name. A value is never quoted (it may be secret).
 */
export class TickEnvError extends Error {
  override readonly name = "TickEnvError";
  constructor(readonly problems: readonly string[]) {
    super(problems.join("\n"));
  }
}

export interface ParseTickEnvOptions {
  /** The tick's HTTP server refuses to start without its bearer token; the CLI needs none. */
  requireGateToken?: boolean;
  /** The config when `LEVIATHAN_CONFIG` is unset. */
  defaultConfig?: string;
}

/** Reads and checks the tick's variables; every problem is collected into one `TickEnvError`. */
export function parseTickEnv(env: NodeJS.ProcessEnv, options: ParseTickEnvOptions = {}): TickEnv {
  const problems: string[] = [];
  const bad = (name: string, message: string) => problems.push(`${name} ${message}`);

  let gateToken: string | undefined;
  try {
    gateToken = readTokenVariable(env, "CONTROL_PLANE_TOKEN");
  } catch (error) {
    if (!(error instanceof TokenFileError)) throw error;
    problems.push(error.message);
  }
  if (options.requireGateToken && gateToken === undefined && problems.length === 0) {
    bad(
      "CONTROL_PLANE_TOKEN",
      "is not set (nor CONTROL_PLANE_TOKEN_FILE); the tick refuses to start without a token",
    );
  }
  try {
    readTokenVariable(env, "GITHUB_TOKEN");
  } catch (error) {
    if (!(error instanceof TokenFileError)) throw error;
    problems.push(error.message);
  }

  const jobRunner = env.LEVIATHAN_JOB_RUNNER?.trim() || "kubernetes";
  if (!(JOB_RUNNERS as readonly string[]).includes(jobRunner)) {
    bad("LEVIATHAN_JOB_RUNNER", `must be one of ${JOB_RUNNERS.join(", ")}`);
  }
  const sink = env.K_SINK?.trim() || undefined;
  if (sink !== undefined && !isHttpUrl(sink)) bad("K_SINK", "must be an http:// or https:// URL");

  if (problems.length > 0) throw new TickEnvError(problems);
  return {
    configPath: configPathFrom(env, options.defaultConfig ?? DEFAULT_CONFIG_PATH),
    ...(gateToken !== undefined ? { gateToken } : {}),
    ...(sink !== undefined ? { sink } : {}),
    jobRunner: jobRunner as JobRunnerKind,
    source: env,
  };
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && !url.username;
  } catch {
    return false;
  }
}
