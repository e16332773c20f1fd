import { existsSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../shared/config/load-config.ts";
import { attemptIdFor } from "../../shared/events/ids.ts";
import { buildAttemptJob } from "../../shared/jobs/build-attempt-job.ts";
import { toJobManifest } from "../../shared/jobs/kubernetes/job-manifest.ts";
import { type Doc, KNATIVE_DIR, readKnativeFolder, validateManifest } from "./manifest-models.ts";

let folder: Map<string, Doc[]>;
/** Every object that `kubectl apply -k knative/` applies. */
let applied: Doc[];
let secrets: Doc[];

function one(kind: string, name: string, apiVersion?: string): Doc {
  const found = applied.filter(
    (d) =>
      d.kind === kind &&
      d.metadata?.name === name &&
      (apiVersion === undefined || d.apiVersion === apiVersion),
  );
  expect(found, `${kind} ${name}`).toHaveLength(1);
  return found[0]!;
}

const knativeService = (name: string) => one("Service", name, "serving.knative.dev/v1");
/** A pod's init containers and containers, in the order they run. */
const containersOf = (pod: Doc): Doc[] => [...(pod.initContainers ?? []), ...pod.containers];
const podSpecOf = (d: Doc): Doc =>
  d.kind === "Deployment" || d.kind === "Job" || d.apiVersion === "serving.knative.dev/v1"
    ? d.spec.template.spec
    : {};

/** Every pod template in the folder, plus a Job as the worker renders it from the ConfigMap. */
let workloads: Array<{ what: string; pod: Doc; namespace: string }>;
let renderedJob: Doc;
let configFromMap: ReturnType<typeof parseConfig>;

const HARDENED_CONTAINER = {
  runAsNonRoot: true,
  runAsUser: 10001,
  runAsGroup: 10001,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  privileged: false,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

beforeAll(async () => {
  folder = await readKnativeFolder();
  const kustomization = folder.get("kustomization.yaml")?.[0];
  applied = (kustomization?.resources ?? []).flatMap((f: string) => folder.get(f) ?? []);
  secrets = folder.get("secrets.example.yaml") ?? [];
  const configMap = one("ConfigMap", "leviathan-autonomy");
  const [[name, text]] = Object.entries(configMap.data as Record<string, string>) as [
    [string, string],
  ];
  configFromMap = parseConfig(text, name);
  renderedJob = toJobManifest(
    buildAttemptJob(
      configFromMap,
      {
        target_id: configFromMap.target_id,
        task_id: "task-1",
        attempt_id: attemptIdFor(configFromMap.target_id, "task-1", 1),
        attempt_number: 1,
        config: name,
      },
      { attemptToken: "lvat1~x~y~test-only" },
    ),
  ) as Doc;
  workloads = [
    ...applied
      .filter((d) => Object.keys(podSpecOf(d)).length > 0)
      .map((d) => ({
        what: `${d.kind} ${d.metadata.name}`,
        pod: podSpecOf(d),
        namespace: d.metadata.namespace,
      })),
    { what: "attempt Job", pod: podSpecOf(renderedJob), namespace: renderedJob.metadata.namespace },
  ];
});

describe("knative/ parses and validates", () => {
  it("every document of every file validates with kubernetes-models", () => {
    const all = [...folder].flatMap(([file, docs]) => docs.map((doc) => ({ file, doc })));
    expect(all.length).toBeGreaterThan(10);
    for (const { file, doc } of all) {
      if (file === "kustomization.yaml") continue;
      expect(
        () => validateManifest(doc),
        `${file}: ${doc.kind} ${doc.metadata?.name}`,
      ).not.toThrow();
    }
    expect(() => validateManifest(renderedJob)).not.toThrow();
  });

  it("an unknown kind or a schema error fails the check", () => {
    expect(() =>
      validateManifest({ apiVersion: "v1", kind: "Pod2", metadata: { name: "x" } }),
    ).toThrow(/unknown kind v1\/Pod2/);
    expect(() =>
      validateManifest({ apiVersion: "example.com/v1", kind: "Service", metadata: { name: "x" } }),
    ).toThrow(/unknown kind/);
    const deployment = structuredClone(one("Deployment", "leviathan-control-plane"));
    deployment.spec.replicas = "one";
    expect(() => validateManifest(deployment)).toThrow(/replicas/);
    const ping = structuredClone(one("PingSource", "leviathan-tick"));
    ping.spec.schedule = 5;
    expect(() => validateManifest(ping)).toThrow(/schedule/);
  });

  it("the kustomization lists every manifest file that exists, and not the example Secrets", () => {
    const [kustomization, ...more] = folder.get("kustomization.yaml") ?? [];
    expect(more).toHaveLength(0);
    expect(kustomization).toMatchObject({
      apiVersion: "kustomize.config.k8s.io/v1beta1",
      kind: "Kustomization",
    });
    const resources = kustomization?.resources as string[];
    for (const file of resources) expect(existsSync(join(KNATIVE_DIR, file)), file).toBe(true);
    const manifestFiles = [...folder.keys()].filter(
      (f) => f !== "kustomization.yaml" && f !== "secrets.example.yaml",
    );
    expect([...resources].sort()).toEqual(manifestFiles.sort());
    expect(resources).not.toContain("secrets.example.yaml");
    expect(applied.some((d) => d.kind === "Secret")).toBe(false);
  });

  it("holds the deployment's objects, all in the namespace leviathan", () => {
    expect(applied.map((d) => `${d.kind}/${d.metadata.name}`).sort()).toEqual(
      [
        "Namespace/leviathan",
        "ServiceAccount/leviathan-worker",
        "ServiceAccount/leviathan-tick",
        "ServiceAccount/leviathan-control-plane",
        "Role/leviathan-worker",
        "RoleBinding/leviathan-worker",
        "Role/leviathan-tick",
        "RoleBinding/leviathan-tick",
        "NetworkPolicy/leviathan-attempt",
        "PersistentVolumeClaim/leviathan-events",
        "ConfigMap/leviathan-autonomy",
        "Deployment/leviathan-control-plane",
        "Service/leviathan-control-plane",
        "Service/leviathan-tick",
        "Service/leviathan-worker",
        "PingSource/leviathan-tick",
      ].sort(),
    );
    for (const doc of applied) {
      if (doc.kind !== "Namespace") expect(doc.metadata.namespace, doc.kind).toBe("leviathan");
    }
    expect(secrets.map((s) => s.metadata.name)).toEqual([
      "leviathan-secrets",
      "leviathan-control-plane-secret",
      "leviathan-executor",
    ]);
  });
});

describe("the control plane", () => {
  it("is one Recreate replica probed on /healthz, with the PVC at /data/events", () => {
    const deployment = one("Deployment", "leviathan-control-plane");
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy).toEqual({ type: "Recreate" });
    const pod = deployment.spec.template.spec;
    const [container, ...others] = pod.containers;
    expect(others).toHaveLength(0);
    expect(container.args).toEqual(["leviathan", "control-plane"]);
    const port = container.ports.find((p: Doc) => p.containerPort === 8000);
    expect(port).toBeDefined();
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
      expect(container[probe]?.httpGet?.path, probe).toBe("/healthz");
      expect([port.name, 8000], probe).toContain(container[probe].httpGet.port);
    }
    const eventsMount = container.volumeMounts.find((m: Doc) => m.mountPath === "/data/events");
    const volume = pod.volumes.find((v: Doc) => v.name === eventsMount?.name);
    expect(volume?.persistentVolumeClaim?.claimName).toBe("leviathan-events");
    expect(eventsMount.readOnly ?? false).toBe(false);
    // fsGroup makes the volume writable by the non-root user.
    expect(pod.securityContext.fsGroup).toBe(10001);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it("is reached through a Service of the same name on port 8000 that selects its pod", () => {
    const service = one("Service", "leviathan-control-plane", "v1");
    const deployment = one("Deployment", "leviathan-control-plane");
    const podLabels = deployment.spec.template.metadata.labels;
    for (const [k, v] of Object.entries(service.spec.selector)) expect(podLabels[k]).toBe(v);
    expect(deployment.spec.selector.matchLabels).toEqual(service.spec.selector);
    const [servicePort] = service.spec.ports;
    expect(servicePort.port).toBe(8000);
    const container = deployment.spec.template.spec.containers[0];
    expect(
      container.ports.some(
        (p: Doc) => p.name === servicePort.targetPort || p.containerPort === servicePort.targetPort,
      ),
    ).toBe(true);
  });
});

describe("the functions", () => {
  it.each([
    ["leviathan-tick", "tick"],
    ["leviathan-worker", "worker"],
  ])(
    "%s is cluster-local, serves FUNCTION_TARGET=%s from the config, with resources",
    (name, target) => {
      const service = knativeService(name);
      expect(service.metadata.labels["networking.knative.dev/visibility"]).toBe("cluster-local");
      const pod = service.spec.template.spec;
      expect(pod.serviceAccountName).toBe(name);
      const [container, ...others] = pod.containers;
      expect(others).toHaveLength(0);
      expect(container.command).toBeUndefined();
      expect(container.args).toBeUndefined();
      const env = Object.fromEntries(
        container.env.map((e: Doc) => [e.name, e.value ?? e.valueFrom]),
      );
      expect(env.FUNCTION_TARGET).toBe(target);
      expect(env.LEVIATHAN_JOB_RUNNER).toBe("kubernetes");
      expect(container.resources.requests).toMatchObject({
        cpu: expect.any(String),
        memory: expect.any(String),
      });
      expect(container.resources.limits).toMatchObject({
        cpu: expect.any(String),
        memory: expect.any(String),
      });
      expect(container.readinessProbe.httpGet.path).toBe("/health");
    },
  );

  it("each gets exactly the tokens it needs, by Secret reference", () => {
    const tokens = (d: Doc) =>
      d.spec.template.spec.containers[0].env
        .filter((e: Doc) => e.name.endsWith("_TOKEN"))
        .map((e: Doc) => e.name)
        .sort();
    expect(tokens(knativeService("leviathan-tick"))).toEqual([
      "CONTROL_PLANE_TOKEN",
      "GITHUB_TOKEN",
    ]);
    expect(tokens(knativeService("leviathan-worker"))).toEqual(["CONTROL_PLANE_TOKEN"]);
    expect(tokens(one("Deployment", "leviathan-control-plane"))).toEqual(["CONTROL_PLANE_TOKEN"]);
  });

  it("the PingSource fires on the config's schedule at the tick Service", () => {
    const ping = one("PingSource", "leviathan-tick");
    expect(ping.apiVersion).toBe("sources.knative.dev/v1");
    expect(ping.spec.schedule).toBe("*/5 * * * *");
    expect(ping.spec.schedule).toBe(configFromMap.schedule_cron);
    const ref = ping.spec.sink.ref;
    expect(ref).toMatchObject({ apiVersion: "serving.knative.dev/v1", kind: "Service" });
    expect(knativeService(ref.name).metadata.name).toBe("leviathan-tick");
    expect(ref.namespace ?? ping.metadata.namespace).toBe(
      knativeService(ref.name).metadata.namespace,
    );
    expect(ping.spec.data).toBeUndefined(); // no data: the tick uses LEVIATHAN_CONFIG itself
  });

  // What Knative's webhook admits with its default feature flags (knative/serving
  // pkg/apis/serving/fieldmask.go, k8s_validation.go): anything else is refused at apply time.
  it.each(["leviathan-tick", "leviathan-worker"])(
    "%s uses only fields Knative admits without feature flags",
    (name) => {
      const pod = knativeService(name).spec.template.spec;
      const podFields = [
        "serviceAccountName",
        "containers",
        "volumes",
        "imagePullSecrets",
        "enableServiceLinks",
        "containerConcurrency",
        "timeoutSeconds",
        "idleTimeoutSeconds",
        "responseStartTimeoutSeconds",
      ];
      for (const key of Object.keys(pod)) expect(podFields, `spec.${key}`).toContain(key);
      const containerFields = [
        "name",
        "args",
        "command",
        "env",
        "workingDir",
        "envFrom",
        "image",
        "imagePullPolicy",
        "livenessProbe",
        "ports",
        "readinessProbe",
        "resources",
        "securityContext",
        "startupProbe",
        "terminationMessagePath",
        "terminationMessagePolicy",
        "volumeMounts",
      ];
      const securityFields = [
        "capabilities",
        "readOnlyRootFilesystem",
        "runAsUser",
        "runAsGroup",
        "runAsNonRoot",
        "allowPrivilegeEscalation",
        "seccompProfile",
        "privileged",
      ];
      const [container] = pod.containers;
      for (const key of Object.keys(container)) expect(containerFields, key).toContain(key);
      for (const key of Object.keys(container.securityContext))
        expect(securityFields, key).toContain(key);
      expect(container.securityContext.privileged).toBe(false);
      expect(container.securityContext.capabilities.add).toBeUndefined();
      expect(container.ports.length).toBeLessThanOrEqual(1);
      for (const port of container.ports) {
        expect([8012, 8013, 8022, 9090, 9091, 8008]).not.toContain(port.containerPort);
      }
      for (const env of container.env) {
        expect(["PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION"]).not.toContain(env.name);
      }
      const mounted = new Set(container.volumeMounts.map((m: Doc) => m.name));
      for (const volume of pod.volumes) {
        const sources = Object.keys(volume).filter((k) => k !== "name");
        expect(sources).toHaveLength(1);
        expect(["configMap", "secret", "projected", "emptyDir"]).toContain(sources[0]);
        expect(mounted.has(volume.name), `${volume.name} is mounted`).toBe(true);
      }
      for (const mount of container.volumeMounts) {
        expect(["/", "/dev", "/dev/log"]).not.toContain(mount.mountPath);
        expect(pod.volumes.some((v: Doc) => v.name === mount.name)).toBe(true);
      }
    },
  );
});

describe("cross-references resolve inside the folder", () => {
  it("every serviceAccountName names a ServiceAccount", () => {
    for (const { what, pod } of workloads) {
      if (pod.serviceAccountName === undefined) {
        // Only the attempt Job runs without one, and without any token mounted.
        expect(what).toBe("attempt Job");
        expect(pod.automountServiceAccountToken).toBe(false);
        continue;
      }
      one("ServiceAccount", pod.serviceAccountName);
    }
  });

  it("every secretKeyRef names a key of an example Secret", () => {
    let refs = 0;
    for (const { what, pod } of workloads) {
      for (const container of containersOf(pod)) {
        for (const env of container.env ?? []) {
          const ref = env.valueFrom?.secretKeyRef;
          if (!ref) continue;
          refs++;
          const secret = secrets.find((s) => s.metadata.name === ref.name);
          expect(secret, `${what}: ${env.name} → Secret ${ref.name}`).toBeDefined();
          expect(Object.keys(secret?.stringData ?? {}), `${what}: ${env.name}`).toContain(ref.key);
        }
      }
    }
    // Control plane 2 (the token, the optional store key), tick 2, worker 1; the Job reads its
    // tokens from files.
    expect(refs).toBe(5);
  });

  it("every envFrom and Secret volume names an example Secret, or the attempt's own", () => {
    const names: string[] = [];
    for (const { what, pod } of workloads) {
      for (const container of containersOf(pod)) {
        for (const source of container.envFrom ?? [])
          names.push(`${what}|${source.secretRef.name}`);
      }
      for (const volume of pod.volumes ?? []) {
        if (volume.secret) names.push(`${what}|${volume.secret.secretName}`);
      }
    }
    const own = `${renderedJob.metadata.name}-token`; // the worker creates it with the Job
    expect(names.sort()).toEqual(
      [
        "attempt Job|leviathan-executor",
        "attempt Job|leviathan-secrets",
        `attempt Job|${own}`,
      ].sort(),
    );
    for (const name of names.map((n) => n.split("|")[1]!).filter((n) => n !== own)) {
      expect(secrets.map((s) => s.metadata.name)).toContain(name);
    }
  });

  it("the example Secrets hold no values", () => {
    for (const secret of secrets) {
      expect(secret.data).toBeUndefined();
      for (const value of Object.values(secret.stringData)) expect(value).toBe("");
    }
  });

  it("configMap volumes name the ConfigMap, and LEVIATHAN_CONFIG a file inside it", () => {
    const configMap = one("ConfigMap", "leviathan-autonomy");
    let checked = 0;
    for (const { what, pod } of workloads) {
      for (const volume of pod.volumes ?? []) {
        if (!volume.configMap) continue;
        expect(volume.configMap.name, what).toBe("leviathan-autonomy");
        const container = pod.containers[0];
        const mount = container.volumeMounts.find((m: Doc) => m.name === volume.name);
        const configPath = container.env.find((e: Doc) => e.name === "LEVIATHAN_CONFIG")?.value;
        expect(configPath, what).toBe(`${mount.mountPath}/${configPath.split("/").pop()}`);
        expect(Object.keys(configMap.data), what).toContain(configPath.split("/").pop());
        checked++;
      }
    }
    expect(checked).toBe(2);
  });

  it("the PVC claim names the PVC", () => {
    const claims = workloads.flatMap(({ pod }) =>
      (pod.volumes ?? []).filter((v: Doc) => v.persistentVolumeClaim),
    );
    expect(claims).toHaveLength(1);
    one("PersistentVolumeClaim", claims[0].persistentVolumeClaim.claimName);
  });

  it("each RoleBinding binds its Role to its ServiceAccount", () => {
    const bindings = applied.filter((d) => d.kind === "RoleBinding");
    expect(bindings).toHaveLength(2);
    for (const binding of bindings) {
      expect(binding.roleRef).toEqual({
        apiGroup: "rbac.authorization.k8s.io",
        kind: "Role",
        name: binding.metadata.name,
      });
      one("Role", binding.roleRef.name);
      for (const subject of binding.subjects) {
        expect(subject.kind).toBe("ServiceAccount");
        expect(subject.namespace).toBe(binding.metadata.namespace);
        one("ServiceAccount", subject.name);
      }
    }
  });

  it("the ConfigMap's worker_url is the worker's cluster-local address", () => {
    const worker = knativeService("leviathan-worker");
    expect(configFromMap.worker_url).toBe(
      `http://${worker.metadata.name}.${worker.metadata.namespace}.svc.cluster.local`,
    );
  });

  it("the Jobs' CONTROL_PLANE_URL reaches the control plane's Service from the Job's namespace", () => {
    const env = renderedJob.spec.template.spec.containers[0].env;
    const url = new URL(env.find((e: Doc) => e.name === "CONTROL_PLANE_URL").value);
    const service = one("Service", "leviathan-control-plane", "v1");
    const { name, namespace } = service.metadata;
    // A bare name resolves in the pod's own namespace; otherwise it must be the full name.
    const shortOk = url.hostname === name && renderedJob.metadata.namespace === namespace;
    const fullNames = [
      `${name}.${namespace}`,
      `${name}.${namespace}.svc`,
      `${name}.${namespace}.svc.cluster.local`,
    ];
    expect(shortOk || fullNames.includes(url.hostname), url.hostname).toBe(true);
    expect(Number(url.port || 80)).toBe(service.spec.ports[0].port);
    expect(url.protocol).toBe("http:");
  });
});

/** An IPv4 address or CIDR's network as a 32-bit number and its prefix length. */
function ipv4(cidr: string): { base: number; bits: number } {
  const [address, bits = "32"] = cidr.split("/");
  const base = address!.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
  return { base, bits: Number(bits) };
}

function cidrContains(cidr: string, address: string): boolean {
  const { base, bits } = ipv4(cidr);
  const size = 2 ** (32 - bits);
  const ip = ipv4(address).base;
  return ip >= base - (base % size) && ip < base - (base % size) + size;
}

/** Whether a NetworkPolicy's ipBlock peers let a pod reach `address`. */
function ipBlocksAllow(rules: Doc[], address: string): boolean {
  return rules.some((rule) =>
    (rule.to ?? []).some(
      (peer: Doc) =>
        peer.ipBlock !== undefined &&
        cidrContains(peer.ipBlock.cidr, address) &&
        !(peer.ipBlock.except ?? []).some((except: string) => cidrContains(except, address)),
    ),
  );
}

function selects(selector: Doc, labels: Record<string, string>): boolean {
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpression = (selector.matchExpressions ?? []).every((e: Doc) => {
    switch (e.operator) {
      case "Exists":
        return e.key in labels;
      case "DoesNotExist":
        return !(e.key in labels);
      case "In":
        return e.values.includes(labels[e.key]);
      case "NotIn":
        return !e.values.includes(labels[e.key]);
      default:
        throw new Error(`unknown operator ${e.operator}`);
    }
  });
  return byLabel && byExpression;
}

describe("the attempts' network", () => {
  const policy = () => one("NetworkPolicy", "leviathan-attempt");
  const egress = (): Doc[] => policy().spec.egress;

  it("validates with kubernetes-models, and the check is not a no-op", () => {
    expect(() => validateManifest(policy())).not.toThrow();
    const broken = structuredClone(policy());
    delete broken.spec.egress[2].to[0].ipBlock.cidr;
    expect(() => validateManifest(broken)).toThrow(/cidr/);
  });

  it("selects the attempt pods and no other pod of the folder", () => {
    const { podSelector } = policy().spec;
    expect(selects(podSelector, renderedJob.spec.template.metadata.labels)).toBe(true);
    expect(podSelector.matchLabels).toEqual({ app: "leviathan-worker" });
    for (const { what } of workloads.filter((w) => w.what !== "attempt Job")) {
      const doc = applied.find((d) => `${d.kind} ${d.metadata.name}` === what)!;
      const labels = doc.spec.template.metadata?.labels ?? {};
      expect(selects(podSelector, labels), what).toBe(false);
      // Not even if the worker's Knative pods were labelled app=leviathan-worker.
      expect(selects(podSelector, { ...labels, app: "leviathan-worker" }), what).toBe(false);
    }
  });

  it("refuses every connection to an attempt pod", () => {
    const { spec } = policy();
    expect(spec.policyTypes).toEqual(["Ingress", "Egress"]);
    expect(spec.ingress ?? []).toEqual([]);
  });

  it("lets attempts reach DNS and the control plane's pods on 8000, nothing else inside the cluster", () => {
    const rules = egress();
    // A rule without `to` would allow every destination.
    for (const rule of rules) expect(rule.to?.length ?? 0).toBeGreaterThan(0);
    const bySelector = rules.filter((r) => r.to.some((p: Doc) => p.ipBlock === undefined));
    expect(bySelector).toHaveLength(2);
    const [dns, controlPlane] = bySelector;
    expect(dns!.to).toEqual([
      { namespaceSelector: {}, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } },
    ]);
    expect(dns!.ports).toEqual([
      { protocol: "UDP", port: 53 },
      { protocol: "TCP", port: 53 },
    ]);
    const deployment = one("Deployment", "leviathan-control-plane");
    expect(controlPlane!.to).toHaveLength(1);
    expect(controlPlane!.to[0].namespaceSelector).toBeUndefined(); // its own namespace only
    expect(selects(controlPlane!.to[0].podSelector, deployment.spec.template.metadata.labels)).toBe(
      true,
    );
    const containerPorts = deployment.spec.template.spec.containers[0].ports.map(
      (p: Doc) => p.containerPort,
    );
    expect(controlPlane!.ports).toEqual([{ protocol: "TCP", port: 8000 }]);
    expect(containerPorts).toContain(8000);
  });

  it("reaches outside addresses, never the metadata service or the private ranges", () => {
    const rules = egress();
    expect(ipBlocksAllow(rules, "140.82.112.3")).toBe(true); // github.com
    expect(ipBlocksAllow(rules, "8.8.8.8")).toBe(true);
    for (const address of [
      "169.254.169.254",
      "10.96.0.1",
      "10.244.1.7",
      "172.16.0.1",
      "172.31.255.254",
      "192.168.1.1",
    ]) {
      expect(ipBlocksAllow(rules, address), address).toBe(false);
    }
    // The helper itself: an ipBlock without excepts would allow the metadata address.
    expect(ipBlocksAllow([{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }] }], "169.254.169.254")).toBe(
      true,
    );
  });
});

describe("least privilege", () => {
  it("only namespaced Roles: the worker manages Jobs and their Secrets, the tick reads Jobs", () => {
    expect(applied.filter((d) => /^Cluster/.test(d.kind))).toEqual([]);
    const rules = (name: string) => one("Role", name).rules;
    const sorted = (rule: Doc) => ({ ...rule, verbs: [...rule.verbs].sort() });
    expect(rules("leviathan-worker").map(sorted)).toEqual([
      {
        apiGroups: ["batch"],
        resources: ["jobs"],
        verbs: ["create", "delete", "get", "list", "watch"],
      },
      { apiGroups: [""], resources: ["secrets"], verbs: ["create", "delete", "get"] },
    ]);
    expect(rules("leviathan-tick")).toEqual([
      { apiGroups: ["batch"], resources: ["jobs"], verbs: ["get", "list"] },
    ]);
    for (const role of applied.filter((d) => d.kind === "Role")) {
      for (const rule of role.rules) {
        expect(rule.resourceNames).toBeUndefined();
        expect(JSON.stringify(rule)).not.toContain("*");
      }
    }
  });

  it("the control plane has no Role and no API token", () => {
    const bound = applied
      .filter((d) => d.kind === "RoleBinding")
      .flatMap((b) => b.subjects.map((s: Doc) => s.name));
    expect(bound).not.toContain("leviathan-control-plane");
    expect(one("ServiceAccount", "leviathan-control-plane").automountServiceAccountToken).toBe(
      false,
    );
  });

  it("every container is hardened and no token is ever a literal value", () => {
    let executes = 0;
    for (const { what, pod } of workloads) {
      for (const container of containersOf(pod)) {
        // The attempt's untrusted phase runs as a user of its own, with its own optional Secret.
        const execute = what === "attempt Job" && container.name === "execute";
        if (execute) executes++;
        expect(container.securityContext, `${what} ${container.name}`).toEqual(
          execute
            ? { ...HARDENED_CONTAINER, runAsUser: 10002, runAsGroup: 10002 }
            : HARDENED_CONTAINER,
        );
        for (const env of container.env ?? []) {
          if (/TOKEN|SECRET|PASSWORD/.test(env.name) && !env.name.endsWith("_FILE")) {
            expect(env.value, `${what}: ${env.name}`).toBeUndefined();
            expect(Object.keys(env.valueFrom), `${what}: ${env.name}`).toEqual(["secretKeyRef"]);
          }
        }
        expect(container.envFrom, `${what} ${container.name}`).toEqual(
          execute ? [{ secretRef: { name: "leviathan-executor", optional: true } }] : undefined,
        );
      }
      expect(pod.hostNetwork ?? false).toBe(false);
      expect(pod.hostPID ?? false).toBe(false);
    }
    expect(executes).toBe(1);
  });
});
