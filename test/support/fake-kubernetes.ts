import { randomBytes, randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { Job } from "kubernetes-models/batch/v1/Job";
import { Secret } from "kubernetes-models/v1/Secret";
import { errorMessage } from "../../shared/errors/error-message.ts";
import { type FakeJobState, fakeJobStatus, now } from "./fake-job-status.ts";
import { failure, success } from "./kubernetes-status.ts";
import { type Cause, jobPodSpecCauses } from "./pod-spec-checks.ts";
import { mergeStringData, secretCauses } from "./secret-checks.ts";

export type { FakeJobState } from "./fake-job-status.ts";

/**
 * A Kubernetes API server for `batch/v1` Jobs and `v1` Secrets, on 127.0.0.1 and a free port,
 * speaking the real protocol (paths, Status bodies, codes) so the runner under test uses the
 * ordinary client path. Bodies are validated with kubernetes-models as the API server
 * validates them with its OpenAPI schema, plus the checks a schema cannot express (duplicate
 * and dangling names). Only what the runners use is served: create, get, list (equality label
 * selectors), delete — and the garbage collector's part in a delete: a Job's owned Secrets go
 * with it unless the delete orphans them.
 */

export type FakeResource = "jobs" | "secrets";

export interface FakeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorized: boolean;
  /** The body as received (parsed JSON), for POSTs and DELETEs that have one. */
  body?: unknown;
}

/** Which requests `failNext` fails: every one unless narrowed. */
export interface FailureFilter {
  method?: string;
  resource?: FakeResource;
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
  /** A stored Secret as the server holds it (a copy; `stringData` merged into `data`), or undefined. */
  secret(name: string, namespace?: string): Record<string, unknown> | undefined;
  secretNames(namespace?: string): string[];
  /** What the Job controller would write into `.status` for that state. */
  setJobState(name: string, state: FakeJobState, namespace?: string): void;
  /**
   * The next `count` requests matching `only` (any, by default) answer `code` with a Status
   * body, as an overloaded server does.
   */
  failNext(count: number, code?: number, only?: FailureFilter): void;
  close(): Promise<void>;
}

interface Kind {
  apiVersion: string;
  kind: string;
  group: string;
  validate(object: Record<string, unknown>): void;
  /** Checks beyond the schema, each a cause of a 422. */
  causes(object: Record<string, unknown>): Cause[];
  /** What the API server's defaulting and storage do to a new object. */
  store(object: Record<string, unknown>, uid: string, name: string): void;
  /** What a DELETE without `propagationPolicy` does to dependents (batch/v1 Jobs orphan them). */
  defaultPropagation: Propagation;
}

type Propagation = "Orphan" | "Background" | "Foreground";

const COLLECTION =
  /^\/(?:apis\/batch|api)\/v1\/namespaces\/([a-z0-9][-a-z0-9]*)\/(jobs|secrets)(?:\/([^/]+))?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function clone<T>(value: T): T {
  return structuredClone(value);
}

function schemaCauses(validate: () => void): Cause[] {
  try {
    validate();
    return [];
  } catch (error) {
    const found = (error as { errors?: Array<{ instancePath?: string; message?: string }> }).errors;
    return (found ?? [{ instancePath: "", message: errorMessage(error) }]).map((e) => ({
      reason: "FieldValueInvalid",
      message: e.message ?? "invalid",
      field: (e.instancePath ?? "").replace(/^\//, "").replaceAll("/", "."),
    }));
  }
}

const KINDS: Record<FakeResource, Kind> = {
  jobs: {
    apiVersion: "batch/v1",
    kind: "Job",
    group: "batch",
    validate: (object) => new Job(object as ConstructorParameters<typeof Job>[0]).validate(),
    causes(object) {
      const name = (object.metadata as { name?: unknown } | undefined)?.name;
      const spec = (object.spec ?? {}) as {
        template?: { spec?: Parameters<typeof jobPodSpecCauses>[0] };
      };
      return [
        // A Job's name becomes a label value of its pods, so it is at most 63 characters.
        ...(typeof name === "string" && name.length > 63
          ? [
              {
                reason: "FieldValueInvalid" as const,
                message: "must be no more than 63 characters",
                field: "metadata.name",
              },
            ]
          : []),
        ...jobPodSpecCauses(spec.template?.spec ?? {}, "spec.template.spec"),
      ];
    },
    store(stored, uid, name) {
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
        "batch.kubernetes.io/job-name": name,
        "controller-uid": uid,
        "job-name": name,
      };
      stored.status = {};
    },
    defaultPropagation: "Orphan",
  },
  secrets: {
    apiVersion: "v1",
    kind: "Secret",
    group: "",
    validate: (object) => new Secret(object as ConstructorParameters<typeof Secret>[0]).validate(),
    causes: (object) => secretCauses(object),
    store: (stored) => mergeStringData(stored),
    defaultPropagation: "Background",
  },
};

/** `jobs.batch`, `secrets`: how the API server names a resource in its messages. */
function qualified(resource: FakeResource): string {
  const { group } = KINDS[resource];
  return group ? `${resource}.${group}` : resource;
}

function details(resource: FakeResource, name: string, extra: Record<string, unknown> = {}) {
  const { group } = KINDS[resource];
  return { name, ...(group ? { group } : {}), kind: resource, ...extra };
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

interface OwnerReference {
  uid?: string;
}

function metadataOf(object: Record<string, unknown>): {
  name?: unknown;
  namespace?: unknown;
  uid?: string;
  labels?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  resourceVersion?: string;
} {
  return (object.metadata ?? {}) as ReturnType<typeof metadataOf>;
}

export async function startFakeKubernetes(
  options: { namespace?: string; token?: string } = {},
): Promise<FakeKubernetes> {
  const namespace = options.namespace ?? "leviathan";
  const token = options.token ?? `fake-k8s-${randomBytes(12).toString("hex")}`;
  const store: Record<FakeResource, Map<string, Record<string, unknown>>> = {
    jobs: new Map(),
    secrets: new Map(),
  };
  const requests: FakeRequest[] = [];
  let resourceVersion = 1000;
  let failures: { count: number; code: number; only: FailureFilter } = {
    count: 0,
    code: 500,
    only: {},
  };
  const key = (ns: string, name: string) => `${ns}/${name}`;

  function send(res: ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
    });
    res.end(text);
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }

  function create(resource: FakeResource, ns: string, body: unknown, res: ServerResponse): void {
    const kind = KINDS[resource];
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      send(res, 400, failure(400, "the body of the request was in an unknown format"));
      return;
    }
    const object = body as Record<string, unknown>;
    if (object.apiVersion !== kind.apiVersion || object.kind !== kind.kind) {
      send(
        res,
        400,
        failure(400, `the API version in the data (${String(object.apiVersion)}) does not match`),
      );
      return;
    }
    const metadata = metadataOf(object);
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
    const causes: Cause[] = [];
    if (typeof name !== "string" || name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
      causes.push({
        reason: "FieldValueInvalid",
        message: "a lowercase RFC 1123 subdomain is required",
        field: "metadata.name",
      });
    }
    causes.push(...schemaCauses(() => kind.validate(object)), ...kind.causes(object));
    if (causes.length > 0) {
      const shown = typeof name === "string" ? name : "";
      const what = kind.group ? `${kind.kind}.${kind.group}` : kind.kind;
      send(
        res,
        422,
        failure(
          422,
          `${what} "${shown}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(", ")}`,
          { ...details(resource, shown), kind: kind.kind, causes },
        ),
      );
      return;
    }
    const objectName = name as string;
    if (store[resource].has(key(ns, objectName))) {
      send(
        res,
        409,
        failure(
          409,
          `${qualified(resource)} "${objectName}" already exists`,
          details(resource, objectName),
        ),
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
      creationTimestamp: now(),
      ...(resource === "jobs" ? { generation: 1 } : {}),
    };
    kind.store(stored, uid, objectName);
    store[resource].set(key(ns, objectName), stored);
    send(res, 201, stored);
  }

  function list(
    resource: FakeResource,
    ns: string,
    query: Record<string, string>,
    res: ServerResponse,
  ): void {
    let requirements: Requirement[] = [];
    if (query.labelSelector) {
      const parsed = parseSelector(query.labelSelector);
      if ("error" in parsed) {
        send(res, 400, failure(400, parsed.error));
        return;
      }
      requirements = parsed;
    }
    const items = [...store[resource].entries()]
      .filter(([k]) => k.startsWith(`${ns}/`))
      .map(([, object]) => object)
      .filter((object) => matches(metadataOf(object).labels ?? {}, requirements))
      // A list's items carry no kind or apiVersion; the list does.
      .map(({ kind: _kind, apiVersion: _apiVersion, ...rest }) => clone(rest));
    send(res, 200, {
      kind: `${KINDS[resource].kind}List`,
      apiVersion: KINDS[resource].apiVersion,
      metadata: { resourceVersion: String(resourceVersion) },
      items,
    });
  }

  /**
   * The garbage collector, at once: dependents of a deleted owner lose their reference to it,
   * and with Background or Foreground propagation those left without owners are deleted.
   */
  function collect(ns: string, ownerUid: string, propagation: Propagation): void {
    for (const [k, dependent] of store.secrets) {
      if (!k.startsWith(`${ns}/`)) continue;
      const metadata = metadataOf(dependent);
      const references = metadata.ownerReferences ?? [];
      if (!references.some((r) => r.uid === ownerUid)) continue;
      const remaining = references.filter((r) => r.uid !== ownerUid);
      if (propagation !== "Orphan" && remaining.length === 0) {
        store.secrets.delete(k);
        continue;
      }
      if (remaining.length > 0) metadata.ownerReferences = remaining;
      else delete metadata.ownerReferences;
      metadata.resourceVersion = String(++resourceVersion);
    }
  }

  function propagationOf(
    resource: FakeResource,
    query: Record<string, string>,
    body: unknown,
  ): Propagation | undefined {
    const fromBody = (body as { propagationPolicy?: unknown } | undefined)?.propagationPolicy;
    const policy = query.propagationPolicy ?? fromBody ?? KINDS[resource].defaultPropagation;
    return policy === "Orphan" || policy === "Background" || policy === "Foreground"
      ? policy
      : undefined;
  }

  function matchesFailure(method: string, resource: FakeResource | undefined): boolean {
    const { only } = failures;
    return (
      (only.method === undefined || only.method === method) &&
      (only.resource === undefined || only.resource === resource)
    );
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const query = Object.fromEntries(url.searchParams.entries());
    const authorized = req.headers.authorization === `Bearer ${token}`;
    const method = req.method ?? "";
    const record: FakeRequest = { method, path: url.pathname, query, authorized };
    requests.push(record);
    const route = COLLECTION.exec(url.pathname);
    // Only the group a resource belongs to serves it: /apis/batch/v1/…/secrets is not a path.
    const resource = route?.[2] as FakeResource | undefined;
    const servedHere =
      route !== null && url.pathname.startsWith(KINDS[resource!].group ? "/apis/batch/" : "/api/");
    let malformed = false;
    if (method === "POST" || method === "DELETE") {
      const text = await readBody(req);
      try {
        record.body = text === "" ? undefined : JSON.parse(text);
      } catch {
        malformed = true;
      }
    }
    if (failures.count > 0 && matchesFailure(method, servedHere ? resource : undefined)) {
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
    if (malformed || (method === "POST" && record.body === undefined)) {
      send(res, 400, failure(400, "the body of the request was in an unknown format"));
      return;
    }
    if (!route || !servedHere || resource === undefined) {
      send(res, 404, failure(404, "the server could not find the requested resource"));
      return;
    }
    const [, ns, , name] = route as unknown as [string, string, FakeResource, string | undefined];
    const notAllowed = () =>
      send(
        res,
        405,
        failure(405, "the server does not allow this method on the requested resource"),
      );
    if (name === undefined) {
      if (method === "POST") return create(resource, ns, record.body, res);
      if (method === "GET") return list(resource, ns, query, res);
      return notAllowed();
    }
    const objects = store[resource];
    const stored = objects.get(key(ns, name));
    const notFound = () =>
      send(
        res,
        404,
        failure(404, `${qualified(resource)} "${name}" not found`, details(resource, name)),
      );
    if (method === "GET") {
      if (!stored) return notFound();
      send(res, 200, stored);
      return;
    }
    if (method === "DELETE") {
      const propagation = propagationOf(resource, query, record.body);
      if (propagation === undefined) {
        send(res, 400, failure(400, "propagationPolicy must be Orphan, Background or Foreground"));
        return;
      }
      if (!stored) return notFound();
      objects.delete(key(ns, name));
      const uid = metadataOf(stored).uid!;
      collect(ns, uid, propagation);
      send(res, 200, success(details(resource, name, { uid })));
      return;
    }
    notAllowed();
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, failure(500, errorMessage(error)));
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

  function copyOf(resource: FakeResource, name: string, ns: string) {
    const stored = store[resource].get(key(ns, name));
    return stored ? clone(stored) : undefined;
  }

  function namesOf(resource: FakeResource, ns: string): string[] {
    return [...store[resource].keys()]
      .filter((k) => k.startsWith(`${ns}/`))
      .map((k) => k.slice(ns.length + 1));
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
    job: (name, ns = namespace) => copyOf("jobs", name, ns),
    jobNames: (ns = namespace) => namesOf("jobs", ns),
    secret: (name, ns = namespace) => copyOf("secrets", name, ns),
    secretNames: (ns = namespace) => namesOf("secrets", ns),
    setJobState(name, state, ns = namespace) {
      const stored = store.jobs.get(key(ns, name));
      if (!stored) throw new Error(`fake kubernetes: no Job ${ns}/${name}`);
      const previous = (stored.status ?? {}) as { startTime?: string };
      stored.status = fakeJobStatus(state, previous.startTime ?? now());
      metadataOf(stored).resourceVersion = String(++resourceVersion);
    },
    failNext(count, code = 500, only = {}) {
      failures = { count, code, only };
    },
    close() {
      return new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
