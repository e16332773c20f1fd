import type { HttpFunction } from "@google-cloud/functions-framework";
import { configPathFrom } from "../config/load-config.ts";
import { errorMessage } from "../errors/error-message.ts";
import { githubAppFromEnv } from "../forge/github/app/github-app-from-env.ts";
import { ATTEMPT_PERMISSIONS } from "../forge/github/app/github-app-tokens.ts";
import { jobRunnerFromEnv } from "../jobs/job-runner-from-env.ts";
import type { JobRunner } from "../jobs/types.ts";
import { createLogger, type Logger, redact } from "../log/logger.ts";
import { tokenDigest } from "../net/check-bearer-token.ts";
import { answeredBeforePostRoot, refusedWithoutToken } from "../net/http-function.ts";
import { readTokenVariable, requireTokenVariable } from "../tokens/read-token.ts";
import { attemptLookupFromEnv } from "./attempt-lookup.ts";
import { decodeAttemptRequested } from "./decode-attempt-cloudevent.ts";
import { handleAttemptRequest } from "./handle-attempt-request.ts";
import { BadAttemptRequestError, httpStatusOf } from "./worker-errors.ts";

export interface WorkerOptions {
  env: NodeJS.ProcessEnv;
  /** Default: from `LEVIATHAN_JOB_RUNNER`. */
  jobs?: (namespace: string) => JobRunner;
  logger?: Logger;
}

/**
 * The worker's HTTP function: `GET /health`; `POST /` with the bearer token and a
 * `dev.leviathan.attempt.requested` CloudEvent → 200 `{job_name, created}`, 400, 401, 403 (the
 * control plane has not recorded that attempt, or it finished), 404 (no such config), 503 (no
 * job runner, the control plane cannot be asked, or the config's GitHub App gives no token for
 * the attempt). Refuses to start without
 * `CONTROL_PLANE_TOKEN` (or `CONTROL_PLANE_TOKEN_FILE`) or with an unknown
 * `LEVIATHAN_JOB_RUNNER`.
 */
export function createWorkerHandler(options: WorkerOptions): HttpFunction {
  const token = requireTokenVariable(options.env, "CONTROL_PLANE_TOKEN", "the worker");
  const expected = tokenDigest(token);
  const logger = options.logger ?? createLogger("worker");
  const jobs = options.jobs ?? jobRunnerFromEnv(options.env, { logger });
  const configPath = configPathFrom(options.env);
  const lookupAttempt = attemptLookupFromEnv(options.env, token, logger);
  const secrets = [token, readTokenVariable(options.env, "GITHUB_TOKEN")];

  return async (req, res) => {
    if (answeredBeforePostRoot(req, res)) return;
    if (refusedWithoutToken(req, res, expected)) return;
    try {
      // The framework has parsed the body already; the SDK wants it as sent.
      const body = req.rawBody ? req.rawBody.toString("utf8") : "";
      const data = decodeAttemptRequested({ headers: req.headers, body });
      const reply = await handleAttemptRequest(data, {
        configPath,
        controlPlaneToken: token,
        jobs,
        lookupAttempt,
        // With a GitHub App: a token for this attempt's repository only, to push and open its PR.
        attemptGitHubToken: async (config) =>
          (await githubAppFromEnv(options.env, config, { logger })?.mint(ATTEMPT_PERMISSIONS))
            ?.token,
        logger,
      });
      res.status(200).json(reply);
    } catch (error) {
      const status = httpStatusOf(error);
      // Messages come from config files, runners and the Kubernetes client: never let a token through.
      const message = redact(errorMessage(error), secrets);
      if (status === 500) logger.error({ err: message }, "attempt request failed");
      else logger.warn({ status, err: message }, "attempt request refused");
      res.status(status).json({
        error: message,
        ...(error instanceof BadAttemptRequestError && error.details.length > 0
          ? { detail: error.details }
          : {}),
      });
    }
  };
}
