// `leviathan render knative --store postgres`: the control plane as a Knative Service on the
// PostgreSQL store, every manifest checked against the published Kubernetes and Knative models.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../shared/config/load-config.ts";
import { type CliRun, runLeviathan } from "../support/run-leviathan.ts";
import { tempDir } from "../support/temp-dir.ts";
import { type Doc, parseDocs, readKnativeFolder, validateManifest } from "./manifest-models.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

function leviathan(args: string[]): Promise<CliRun> {
  return runLeviathan(args, { unset: ["LEVIATHAN_CONFIG"], cwd: ROOT });
}

let docs: Doc[];
const find = (kind: string, name: string, apiVersion?: string) =>
  docs.filter(
    (d) =>
      d.kind === kind &&
      d.metadata?.name === name &&
      (apiVersion === undefined || d.apiVersion === apiVersion),
  );

beforeAll(async () => {
  const run = await leviathan(["render", "knative", "--store", "postgres"]);
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  docs = parseDocs(run.stdout, "stdout");
});

describe("render knative --store postgres", () => {
  it("renders only valid manifests", () => {
    for (const doc of docs) validateManifest(doc);
  });

  it("makes the control plane a cluster-local Knative Service that never scales to zero and may scale out", () => {
    const [service] = find("Service", "leviathan-control-plane", "serving.knative.dev/v1");
    expect(service).toBeDefined();
    expect(service!.metadata.labels["networking.knative.dev/visibility"]).toBe("cluster-local");
    const annotations = service!.spec.template.metadata.annotations;
    expect(annotations["autoscaling.knative.dev/min-scale"]).toBe("1");
    // Several replicas allowed: no cap at one, and no one-request-at-a-time limit.
    expect(annotations["autoscaling.knative.dev/max-scale"]).toBeUndefined();
    expect(service!.spec.template.spec.containerConcurrency).toBeUndefined();
    const [container] = service!.spec.template.spec.containers;
    expect(container.args).toEqual(["leviathan", "control-plane"]);
    expect(container.ports).toEqual([{ name: "http1", containerPort: 8000 }]);
    expect(container.readinessProbe.httpGet.path).toBe("/healthz");
  });

  it("takes the store URL from Secret leviathan-store (key url) by reference, and mounts no volume for events", () => {
    const [service] = find("Service", "leviathan-control-plane", "serving.knative.dev/v1");
    const spec = service!.spec.template.spec;
    const env = spec.containers[0].env as Doc[];
    const byName = Object.fromEntries(env.map((e) => [e.name, e]));
    expect(byName.LEVIATHAN_STORE_URL).toEqual({
      name: "LEVIATHAN_STORE_URL",
      valueFrom: { secretKeyRef: { name: "leviathan-store", key: "url" } },
    });
    expect(byName.CONTROL_PLANE_TOKEN.valueFrom.secretKeyRef.name).toBe(
      "leviathan-control-plane-secret",
    );
    // Knative sets PORT itself and refuses a container that sets it; no directory store.
    expect(byName.PORT).toBeUndefined();
    expect(byName.LEVIATHAN_DATA_DIR).toBeUndefined();
    for (const variable of env) expect(variable.value, variable.name).toBeUndefined();
    expect(spec.volumes.some((v: Doc) => v.persistentVolumeClaim)).toBe(false);
    expect(docs.filter((d) => d.kind === "PersistentVolumeClaim")).toEqual([]);
    expect(find("Deployment", "leviathan-control-plane")).toEqual([]);
    expect(find("Service", "leviathan-control-plane", "v1")).toEqual([]);
    expect(container(spec).securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
    });
  });

  it("points control_plane_url in the ConfigMap at the Service's cluster-local address", () => {
    const [configMap] = find("ConfigMap", "leviathan-autonomy");
    const [name, text] = Object.entries(configMap!.data as Record<string, string>)[0]!;
    const config = parseConfig(text, name);
    expect(config.control_plane_url).toBe(
      "http://leviathan-control-plane.leviathan.svc.cluster.local",
    );
    expect(config.worker_url).toBe("http://leviathan-worker.leviathan.svc.cluster.local");
  });

  it("lets attempts reach the control plane through Knative's gateway, and nothing else inside the cluster", () => {
    const [policy] = find("NetworkPolicy", "leviathan-attempt");
    const rules = policy!.spec.egress as Doc[];
    const knative = rules.find((r) =>
      (r.to ?? []).some((t: Doc) => t.podSelector?.matchLabels?.app === "3scale-kourier-gateway"),
    );
    expect(knative).toBeDefined();
    expect(knative!.ports.map((p: Doc) => p.port).sort()).toEqual([8012, 8013, 8081]);
    const outside = rules.find((r) => r.to?.[0]?.ipBlock);
    expect(outside!.to[0].ipBlock.except).toContain("10.0.0.0/8");
  });

  it("writes the folder with the store's Secret among the examples, and the default stays the committed knative/", async () => {
    const dir = tempDir("leviathan-render-pg-");
    const run = await leviathan(["render", "knative", "--store", "postgres", "--write", dir]);
    expect(run.code).toBe(0);
    const secrets = parseDocs(await readFile(join(dir, "secrets.example.yaml"), "utf8"), "secrets");
    const store = secrets.find((s) => s.metadata.name === "leviathan-store");
    expect(store?.stringData).toEqual({ url: "" });
    const kustomization = parseDocs(
      await readFile(join(dir, "kustomization.yaml"), "utf8"),
      "k",
    )[0]!;
    expect(kustomization.resources).not.toContain("secrets.example.yaml");
    const controlPlane = parseDocs(await readFile(join(dir, "control-plane.yaml"), "utf8"), "cp");
    expect(controlPlane.map((d) => `${d.apiVersion}/${d.kind}`)).toEqual([
      "serving.knative.dev/v1/Service",
    ]);
    const committed = await readKnativeFolder();
    expect(committed.get("control-plane.yaml")!.map((d) => d.kind)).toContain("Deployment");

    const bad = await leviathan(["render", "knative", "--store", "mysql"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--store is ndjson or postgres/);
  });
});

function container(spec: Doc): Doc {
  return spec.containers[0];
}
