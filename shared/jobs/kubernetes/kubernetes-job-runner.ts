import {
  ApiException,
  BatchV1Api,
  createConfiguration,
  type KubeConfig,
  type Middleware,
  ServerConfiguration,
  type V1Job,
  type V1Status,
} from "@kubernetes/client-node";
import { labelValue } from "../../events/ids.ts";
import type { Logger } from "../../log/logger.ts";
import { withRetries } from "../../net/with-retries.ts";
import { TARGET_LABEL } from "../build-attempt-job.ts";
import {
  type AttemptJob,
  type JobRunner,
  JobRunnerUnavailableError,
  type JobStatus,
} from "../types.ts";
import { toJobManifest } from "./job-manifest.ts";
import { jobStatusFromKubernetes } from "./job-status-from-kubernetes.ts";
import { loadKubeConfig } from "./load-kube-config.ts";

export interface KubernetesJobRunnerOptions {
  /** Default: in-cluster when `KUBERNETES_SERVICE_HOST` is set, else `KUBECONFIG` / `~/.kube/config`. */
  kubeConfig?: KubeConfig;
  /** Where the Jobs live; every call is scoped to it. */
  namespace: string;
  /** Per HTTP request, the response body included. Default 10 s. */
  timeoutMs?: number;
  /** Tries per call, the first included. Default 3. */
  attempts?: number;
  /** First backoff between tries (doubling, jittered). Default 200 ms. */
  retryDelayMs?: number;
  logger?: Logger;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_ATTEMPTS = 3;

/** Retrying can help: the request never got an answer, or the server said it is overloaded. */
function isTransient(error: unknown): boolean {
  if (error instanceof ApiException) return error.code >= 500 || error.code === 429;
  return !(error instanceof RefusedError);
}

/** The API server answered and said no (401, 403, 422 …): retrying will not change that. */
class RefusedError extends Error {
  override readonly name = "RefusedError";
}

/** A short account of a failure; never the request's headers (they carry the token). */
function describe(error: unknown): string {
  if (error instanceof ApiException) {
    const body = error.body as Partial<V1Status> | string | undefined;
    if (body && typeof body === "object") {
      return `HTTP ${error.code}${body.reason ? ` ${body.reason}` : ""}${body.message ? `: ${body.message}` : ""}`;
    }
    return `HTTP ${error.code}`;
  }
  const e = error as { name?: string; code?: string; message?: string };
  if (e.name === "AbortError") return "timed out";
  return e.code ? `${e.code}: ${e.message ?? ""}` : (e.message ?? String(error));
}

/**
 * DESIGN §4/§12: attempts as batch/v1 Jobs. Create is idempotent (the name is deterministic, so
 * 409 AlreadyExists is success and a retried create after a lost reply is safe); network
 * errors, timeouts and 5xx are retried with backoff and then reported as
 * `JobRunnerUnavailableError`, which the worker answers with 503.
 */
export function createKubernetesJobRunner(options: KubernetesJobRunnerOptions): JobRunner {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const log = options.logger;
  let api: BatchV1Api | undefined;
  let server = "";

  // Built on first use, so a worker without any Kubernetes configuration still starts and
  // answers 503 (and its health check) instead of crashing.
  function client(): BatchV1Api {
    if (api) return api;
    let kubeConfig: KubeConfig;
    try {
      kubeConfig = options.kubeConfig ?? loadKubeConfig();
    } catch (error) {
      throw new JobRunnerUnavailableError(
        `no usable Kubernetes configuration: ${(error as Error).message}`,
      );
    }
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster)
      throw new JobRunnerUnavailableError("no current cluster in the Kubernetes configuration");
    server = cluster.server;
    const timeout: Middleware = {
      async pre(context) {
        context.setSignal(AbortSignal.timeout(timeoutMs));
        return context;
      },
      async post(context) {
        return context;
      },
    };
    api = new BatchV1Api(
      createConfiguration({
        baseServer: new ServerConfiguration(server, {}),
        authMethods: { default: kubeConfig },
        promiseMiddleware: [timeout],
      }),
    );
    return api;
  }

  /**
   * One API call with bounded retries. `settle` turns an expected HTTP answer (409 on create,
   * 404 on read) into a result inside the retried call, so a retry that meets the effect of a
   * lost earlier try still ends well.
   */
  async function call<T>(
    operation: string,
    subject: string,
    run: (batch: BatchV1Api) => Promise<T>,
    settle: (error: ApiException<unknown>) => T | undefined = () => undefined,
  ): Promise<T> {
    const batch = client();
    const started = Date.now();
    try {
      const result = await withRetries(
        async () => {
          try {
            return await run(batch);
          } catch (error) {
            if (error instanceof ApiException) {
              const settled = settle(error);
              if (settled !== undefined) return settled;
              if (!isTransient(error)) throw new RefusedError(describe(error));
            }
            throw error;
          }
        },
        {
          attempts: options.attempts ?? DEFAULT_ATTEMPTS,
          baseDelayMs: options.retryDelayMs ?? 200,
          maxDelayMs: 2_000,
          retryable: isTransient,
          onRetry: (error, attempt, delayMs) =>
            log?.warn(
              { operation, subject, attempt, delayMs, err: describe(error) },
              "kubernetes retry",
            ),
        },
      );
      log?.debug({ operation, subject, ms: Date.now() - started }, "kubernetes call done");
      return result;
    } catch (error) {
      const why = describe(error);
      log?.error(
        { operation, subject, ms: Date.now() - started, err: why },
        "kubernetes call failed",
      );
      if (error instanceof RefusedError) {
        throw new Error(`Kubernetes refused to ${operation} ${subject}: ${why}`);
      }
      throw new JobRunnerUnavailableError(
        `Kubernetes API at ${server} unavailable (${operation} ${subject}): ${why}`,
      );
    }
  }

  return {
    async submit(job: AttemptJob) {
      if (job.namespace !== options.namespace) {
        throw new Error(
          `Job ${job.name} is for namespace ${job.namespace}, this runner serves ${options.namespace}`,
        );
      }
      const body = toJobManifest(job) as V1Job;
      const result = await call(
        "create",
        `Job ${job.namespace}/${job.name}`,
        async (batch) => {
          await batch.createNamespacedJob({ namespace: options.namespace, body });
          return { created: true };
        },
        (error) => (error.code === 409 ? { created: false } : undefined),
      );
      log?.info({ job: job.name, created: result.created }, "attempt Job submitted");
      return result;
    },

    async status(name: string): Promise<JobStatus> {
      return call(
        "read",
        `Job ${options.namespace}/${name}`,
        async (batch) =>
          jobStatusFromKubernetes(
            await batch.readNamespacedJob({ name, namespace: options.namespace }),
          ),
        (error) => (error.code === 404 ? { name, phase: "missing" } : undefined),
      );
    },

    async list(targetId: string): Promise<JobStatus[]> {
      const labelSelector = `${TARGET_LABEL}=${labelValue(targetId)}`;
      const jobs = await call("list", `Jobs ${labelSelector}`, (batch) =>
        batch.listNamespacedJob({ namespace: options.namespace, labelSelector }),
      );
      return jobs.items.map(jobStatusFromKubernetes);
    },
  };
}
