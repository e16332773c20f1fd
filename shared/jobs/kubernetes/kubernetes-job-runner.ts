import {
  ApiException,
  BatchV1Api,
  CoreV1Api,
  createConfiguration,
  type KubeConfig,
  type Middleware,
  ServerConfiguration,
  type V1Job,
  type V1Status,
} from "@kubernetes/client-node";
import { errorMessage } from "../../errors/error-message.ts";
import { labelValue } from "../../events/ids.ts";
import { type Logger, redact } from "../../log/logger.ts";
import { withRetries } from "../../net/with-retries.ts";
import { TARGET_LABEL } from "../build-attempt-job.ts";
import {
  type AttemptJob,
  type JobRunner,
  JobRunnerUnavailableError,
  type JobStatus,
} from "../types.ts";
import { toAttemptSecretManifest } from "./attempt-secret-manifest.ts";
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

/** The two API groups the runner uses, built from one configuration. */
interface Apis {
  batch: BatchV1Api;
  core: CoreV1Api;
}

/**
 * Attempts as batch/v1 Jobs, each with its own Secret. Create is idempotent (the names are
 * deterministic, so 409 AlreadyExists is success and a retried create after a lost reply is
 * safe); network errors, timeouts and 5xx are retried with backoff and then reported as
 * `JobRunnerUnavailableError`, which the worker answers with 503.
 */
export function createKubernetesJobRunner(options: KubernetesJobRunnerOptions): JobRunner {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const log = options.logger;
  let apis: Apis | undefined;
  let server = "";

  // Built on first use, so a worker without any Kubernetes configuration still starts and
  // answers 503 (and its health check) instead of crashing.
  function client(): Apis {
    if (apis) return apis;
    let kubeConfig: KubeConfig;
    try {
      kubeConfig = options.kubeConfig ?? loadKubeConfig();
    } catch (error) {
      throw new JobRunnerUnavailableError(
        `no usable Kubernetes configuration: ${errorMessage(error)}`,
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
    const configuration = createConfiguration({
      baseServer: new ServerConfiguration(server, {}),
      authMethods: { default: kubeConfig },
      promiseMiddleware: [timeout],
    });
    apis = { batch: new BatchV1Api(configuration), core: new CoreV1Api(configuration) };
    return apis;
  }

  /**
   * One API call with bounded retries. `settle` turns an expected HTTP answer (409 on create,
   * 404 on read) into a result inside the retried call, so a retry that meets the effect of a
   * lost earlier try still ends well. `secrets` are cut out of every account of a failure, in
   * case a server echoes what it was sent.
   */
  async function call<T>(
    operation: string,
    subject: string,
    run: (apis: Apis) => Promise<T>,
    settle: (error: ApiException<unknown>) => T | undefined = () => undefined,
    secrets: readonly string[] = [],
  ): Promise<T> {
    const api = client();
    const started = Date.now();
    const account = (error: unknown) => redact(describe(error), secrets);
    try {
      const result = await withRetries(
        async () => {
          try {
            return await run(api);
          } catch (error) {
            if (error instanceof ApiException) {
              const settled = settle(error);
              if (settled !== undefined) return settled;
              if (!isTransient(error)) throw new RefusedError(account(error));
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
              { operation, subject, attempt, delayMs, err: account(error) },
              "kubernetes retry",
            ),
        },
      );
      log?.debug({ operation, subject, ms: Date.now() - started }, "kubernetes call done");
      return result;
    } catch (error) {
      const why = account(error);
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
      const subject = `Job ${job.namespace}/${job.name}`;
      const body = toJobManifest(job) as V1Job;
      // null: it already exists, and only a read can tell its uid.
      const created = await call(
        "create",
        subject,
        ({ batch }) => batch.createNamespacedJob({ namespace: options.namespace, body }),
        (error) => (error.code === 409 ? null : undefined),
      );
      const owner =
        created ??
        (await call("read", subject, ({ batch }) =>
          batch.readNamespacedJob({ name: job.name, namespace: options.namespace }),
        ));
      const uid = owner.metadata?.uid;
      if (!uid) throw new JobRunnerUnavailableError(`Kubernetes returned ${subject} without a uid`);
      // After the Job, because the Secret names the Job's uid as its owner. Until it exists
      // the pod waits for its Secret volume; a repeat submit (a retried request) creates it.
      const secret = await call(
        "create",
        `Secret ${job.namespace}/${job.attemptSecret.name}`,
        async ({ core }) => {
          await core.createNamespacedSecret({
            namespace: options.namespace,
            body: toAttemptSecretManifest(job, uid),
          });
          return { created: true };
        },
        (error) => (error.code === 409 ? { created: false } : undefined),
        Object.values(job.attemptSecret.data),
      );
      const result = { created: created !== null };
      log?.info(
        { job: job.name, created: result.created, secretCreated: secret.created },
        "attempt Job submitted",
      );
      return result;
    },

    async status(name: string): Promise<JobStatus> {
      return call(
        "read",
        `Job ${options.namespace}/${name}`,
        async ({ batch }) =>
          jobStatusFromKubernetes(
            await batch.readNamespacedJob({ name, namespace: options.namespace }),
          ),
        (error) => (error.code === 404 ? { name, phase: "missing" } : undefined),
      );
    },

    async list(targetId: string): Promise<JobStatus[]> {
      const labelSelector = `${TARGET_LABEL}=${labelValue(targetId)}`;
      const jobs = await call("list", `Jobs ${labelSelector}`, ({ batch }) =>
        batch.listNamespacedJob({ namespace: options.namespace, labelSelector }),
      );
      return jobs.items.map(jobStatusFromKubernetes);
    },
  };
}
