import { randomBytes, randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { Job } from "kubernetes-models/batch/v1/Job";

/**
 * A Kubernetes API server for `batch/v1` Jobs, on 127.0.0.1 and a free port, speaking the real
 * protocol (paths, Status bodies, codes) so the runner under test uses the ordinary client
 * path. Bodies are validated with kubernetes-models as the API server validates them with its
 * OpenAPI schema. Only what the runners use is served: create, get, list (equality label
 * selectors), delete.
 */

/** What a test can make a Job's controller report. */
export type FakeJobState = "running" | "succeeded" | "failed" | "deadline-exceeded";

export interface FakeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorized: boolean;
  /** The body as received (parsed JSON), for POSTs. */
  body?: unknown;
}

export interface FakeKubernetes {
  /** `http://127.0.0.1:<port>` */
  url: string;
  token: string;
  namespace: string;
  /** A kubeconfig (YAML) whose current context points at this server with a token user. */
  kubeconfig: string;
  /** The same, loaded, as a runner would load it. */
  kubeConfig(): KubeConfig;
  writeKubeconfig(path: string): Promise<void>;
  /** Every request received, oldest first. */
  requests: FakeRequest[];
  /** A stored Job as the server holds it (a copy), or undefined. */
  job(name: string, namespace?: string): Record<string, unknown> | undefined;
  jobNames(namespace?: string): string[];
  /** What the Job controller would write into `.status` for that state. */
  setJobState(name: string, state: FakeJobState, namespace?: string): void;
  /** The next `count` requests (any route) answer `code` with a Status body, as an overloaded server does. */
  failNext(count: number, code?: number): void;
  close(): Promise<void>;
}

interface StatusBody {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Success" | "Failure";
  message?: string;
  reason?: string;
  details?: Record<string, unknown>;
  code: number;
}

const JOBS_PATH = /^\/apis\/batch\/v1\/namespaces\/([a-z0-9][-a-z0-9]*)\/jobs(?:\/([^/]+))?$/;
const REASONS: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  404: "NotFound",
  405: "MethodNotAllowed",
  409: "AlreadyExists",
  415: "UnsupportedMediaType",
  422: "Invalid",
  500: "InternalError",
  503: "ServiceUnavailable",
};

function failure(code: number, message: string, details?: Record<string, unknown>): StatusBody {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason: REASONS[code] ?? "Unknown",
    ...(details ? { details } : {}),
    code,
  };
}

/** RFC 3339 to the second, as the API server writes timestamps. */
function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

interface Requirement {
  key: string;
  value: string;
  equal: boolean;
}

/** Equality-based selectors only (`a=b`, `a==b`, `a!=b`, comma-separated), as the runners send. */
function parseSelector(selector: string): Requirement[] | { error: string } {
  const requirements: Requirement[] = [];
  for (const part of selector.split(",")) {
    const match = /^\s*([A-Za-z0-9./_-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)\s*$/.exec(part);
    if (!match) return { error: `unable to parse requirement: ${JSON.stringify(part)}` };
    requirements.push({ key: match[1]!, value: match[3]!, equal: match[2] !== "!=" });
  }
  return requirements;
}

function matches(labels: Record<string, string>, requirements: Requirement[]): boolean {
  return requirements.every((r) => (labels[r.key] === r.value) === r.equal);
}

export async function startFakeKubernetes(
  options: { namespace?: string; token?: string } = {},
): Promise<FakeKubernetes> {
  const namespace = options.namespace ?? "leviathan";
  const token = options.token ?? `fake-k8s-${randomBytes(12).toString("hex")}`;
  const jobs = new Map<string, Record<string, unknown>>();
  const requests: FakeRequest[] = [];
  let resourceVersion = 1000;
  let failures: { count: number; code: number } = { count: 0, code: 500 };
  const key = (ns: string, name: string) => `${ns}/${name}`;

  function send(res: ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
    });
    res.end(text);
  }

  async function readJson(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  }

  function create(ns: string, body: unknown, res: ServerResponse): void {
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      send(res, 400, failure(400, "the body of the request was in an unknown format"));
      return;
    }
    const object = body as Record<string, unknown>;
    if (object.apiVersion !== "batch/v1" || object.kind !== "Job") {
      send(
        res,
        400,
        failure(400, `the API version in the data (${String(object.apiVersion)}) does not match`),
      );
      return;
    }
    const metadata = (object.metadata ?? {}) as Record<string, unknown>;
    const name = metadata.name;
    if (metadata.namespace !== undefined && metadata.namespace !== ns) {
      send(
        res,
        400,
        failure(
          400,
          "the namespace of the provided object does not match the namespace sent on the request",
        ),
      );
      return;
    }
    const causes: Array<{ reason: string; message: string; field: string }> = [];
    if (typeof name !== "string" || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) {
      causes.push({
        reason: "FieldValueInvalid",
        message: "a lowercase RFC 1123 subdomain is required",
        field: "metadata.name",
      });
    }
    try {
      new Job(object as ConstructorParameters<typeof Job>[0]).validate();
    } catch (error) {
      const found = (error as { errors?: Array<{ instancePath?: string; message?: string }> })
        .errors;
      for (const e of found ?? [{ instancePath: "", message: (error as Error).message }]) {
        causes.push({
          reason: "FieldValueInvalid",
          message: e.message ?? "invalid",
          field: (e.instancePath ?? "").replace(/^\//, "").replaceAll("/", "."),
        });
      }
    }
    if (causes.length > 0) {
      const shown = typeof name === "string" ? name : "";
      send(
        res,
        422,
        failure(
          422,
          `Job.batch "${shown}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(", ")}`,
          { name: shown, group: "batch", kind: "Job", causes },
        ),
      );
      return;
    }
    const jobName = name as string;
    if (jobs.has(key(ns, jobName))) {
      send(
        res,
        409,
        failure(409, `jobs.batch "${jobName}" already exists`, {
          name: jobName,
          group: "batch",
          kind: "jobs",
        }),
      );
      return;
    }
    const stored = clone(object);
    const uid = randomUUID();
    stored.metadata = {
      ...clone(metadata),
      namespace: ns,
      uid,
      resourceVersion: String(++resourceVersion),
      generation: 1,
      creationTimestamp: now(),
    };
    // What the API server's defaulting adds to a Job, so the stored object looks like a real one.
    const spec = stored.spec as Record<string, unknown>;
    spec.completions ??= 1;
    spec.parallelism ??= 1;
    spec.completionMode ??= "NonIndexed";
    spec.suspend ??= false;
    spec.selector ??= { matchLabels: { "batch.kubernetes.io/controller-uid": uid } };
    const template = (spec.template ?? {}) as { metadata?: { labels?: Record<string, string> } };
    template.metadata ??= {};
    template.metadata.labels = {
      ...template.metadata.labels,
      "batch.kubernetes.io/controller-uid": uid,
      "batch.kubernetes.io/job-name": jobName,
      "controller-uid": uid,
      "job-name": jobName,
    };
    stored.status = {};
    jobs.set(key(ns, jobName), stored);
    send(res, 201, stored);
  }

  function list(ns: string, query: Record<string, string>, res: ServerResponse): void {
    let requirements: Requirement[] = [];
    if (query.labelSelector) {
      const parsed = parseSelector(query.labelSelector);
      if ("error" in parsed) {
        send(res, 400, failure(400, parsed.error));
        return;
      }
      requirements = parsed;
    }
    const items = [...jobs.entries()]
      .filter(([k]) => k.startsWith(`${ns}/`))
      .map(([, job]) => job)
      .filter((job) => {
        const labels = ((job.metadata as { labels?: Record<string, string> }).labels ??
          {}) as Record<string, string>;
        return matches(labels, requirements);
      })
      // A list's items carry no kind or apiVersion; the list does.
      .map(({ kind: _kind, apiVersion: _apiVersion, ...rest }) => clone(rest));
    send(res, 200, {
      kind: "JobList",
      apiVersion: "batch/v1",
      metadata: { resourceVersion: String(resourceVersion) },
      items,
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const query = Object.fromEntries(url.searchParams.entries());
    const authorized = req.headers.authorization === `Bearer ${token}`;
    const record: FakeRequest = { method: req.method ?? "", path: url.pathname, query, authorized };
    requests.push(record);
    if (req.method === "POST") {
      try {
        record.body = await readJson(req);
      } catch {
        record.body = undefined;
        if (authorized && failures.count === 0) {
          send(res, 400, failure(400, "the body of the request was in an unknown format"));
          return;
        }
      }
    }
    if (failures.count > 0) {
      failures.count--;
      send(
        res,
        failures.code,
        failure(failures.code, "the server is currently unable to handle the request"),
      );
      return;
    }
    if (!authorized) {
      send(res, 401, failure(401, "Unauthorized"));
      return;
    }
    const route = JOBS_PATH.exec(url.pathname);
    if (!route) {
      send(res, 404, failure(404, "the server could not find the requested resource"));
      return;
    }
    const [, ns, name] = route as unknown as [string, string, string | undefined];
    if (name === undefined) {
      if (req.method === "POST") return create(ns, record.body, res);
      if (req.method === "GET") return list(ns, query, res);
      send(
        res,
        405,
        failure(405, `the server does not allow this method on the requested resource`),
      );
      return;
    }
    const stored = jobs.get(key(ns, name));
    const notFound = () =>
      send(
        res,
        404,
        failure(404, `jobs.batch "${name}" not found`, { name, group: "batch", kind: "jobs" }),
      );
    if (req.method === "GET") {
      if (!stored) return notFound();
      send(res, 200, stored);
      return;
    }
    if (req.method === "DELETE") {
      if (!stored) return notFound();
      jobs.delete(key(ns, name));
      const uid = (stored.metadata as { uid: string }).uid;
      send(res, 200, {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Success",
        details: { name, group: "batch", kind: "jobs", uid },
      });
      return;
    }
    send(res, 405, failure(405, "the server does not allow this method on the requested resource"));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, failure(500, (error as Error).message));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  // `insecure-skip-tls-verify` is what lets @kubernetes/client-node 1.x talk to an http://
  // server at all (it refuses plain http otherwise); the bearer token goes in a header as usual.
  const kubeconfig = [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "  - name: fake",
    "    cluster:",
    `      server: ${url}`,
    "      insecure-skip-tls-verify: true",
    "users:",
    "  - name: fake-user",
    "    user:",
    `      token: ${token}`,
    "contexts:",
    "  - name: fake",
    "    context:",
    "      cluster: fake",
    "      user: fake-user",
    `      namespace: ${namespace}`,
    "current-context: fake",
    "",
  ].join("\n");

  function jobStatus(state: FakeJobState, start: string): Record<string, unknown> {
    const at = now();
    const condition = (type: string, reason?: string, message?: string) => ({
      type,
      status: "True",
      lastProbeTime: at,
      lastTransitionTime: at,
      ...(reason ? { reason } : {}),
      ...(message ? { message } : {}),
    });
    switch (state) {
      case "running":
        return {
          active: 1,
          ready: 0,
          terminating: 0,
          startTime: start,
          uncountedTerminatedPods: {},
        };
      case "succeeded":
        return {
          succeeded: 1,
          ready: 0,
          terminating: 0,
          startTime: start,
          completionTime: at,
          uncountedTerminatedPods: {},
          conditions: [
            condition(
              "SuccessCriteriaMet",
              "CompletionsReached",
              "Reached expected number of succeeded pods",
            ),
            condition(
              "Complete",
              "CompletionsReached",
              "Reached expected number of succeeded pods",
            ),
          ],
        };
      case "failed":
        return {
          failed: 1,
          ready: 0,
          terminating: 0,
          startTime: start,
          uncountedTerminatedPods: {},
          conditions: [
            condition(
              "FailureTarget",
              "BackoffLimitExceeded",
              "Job has reached the specified backoff limit",
            ),
            condition(
              "Failed",
              "BackoffLimitExceeded",
              "Job has reached the specified backoff limit",
            ),
          ],
        };
      case "deadline-exceeded":
        return {
          failed: 1,
          ready: 0,
          terminating: 0,
          startTime: start,
          uncountedTerminatedPods: {},
          conditions: [
            condition(
              "FailureTarget",
              "DeadlineExceeded",
              "Job was active longer than specified deadline",
            ),
            condition(
              "Failed",
              "DeadlineExceeded",
              "Job was active longer than specified deadline",
            ),
          ],
        };
    }
  }

  return {
    url,
    token,
    namespace,
    kubeconfig,
    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromString(kubeconfig);
      return kc;
    },
    async writeKubeconfig(path) {
      await writeFile(path, kubeconfig, { mode: 0o600 });
    },
    requests,
    job(name, ns = namespace) {
      const stored = jobs.get(key(ns, name));
      return stored ? clone(stored) : undefined;
    },
    jobNames(ns = namespace) {
      return [...jobs.keys()]
        .filter((k) => k.startsWith(`${ns}/`))
        .map((k) => k.slice(ns.length + 1));
    },
    setJobState(name, state, ns = namespace) {
      const stored = jobs.get(key(ns, name));
      if (!stored) throw new Error(`fake kubernetes: no Job ${ns}/${name}`);
      const previous = (stored.status ?? {}) as { startTime?: string };
      stored.status = jobStatus(state, previous.startTime ?? now());
      (stored.metadata as { resourceVersion: string }).resourceVersion = String(++resourceVersion);
    },
    failNext(count, code = 500) {
      failures = { count, code };
    },
    close() {
      return new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
