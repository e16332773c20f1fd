import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attemptIdFor, jobNameFor } from "../../shared/events/ids.ts";
import { type CliRun, runLeviathan } from "../support/run-leviathan.ts";
import { type Doc, parseDocs, validateManifest } from "./manifest-models.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

function leviathan(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runLeviathan(args, { env, unset: ["LEVIATHAN_CONFIG"], cwd: ROOT });
}

describe("leviathan render", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "leviathan-render-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("render job --task x --attempt 2 prints that attempt's valid Job", async () => {
    const run = await leviathan(["render", "job", "--task", "x", "--attempt", "2"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const [job, ...rest] = parseDocs(run.stdout, "stdout");
    expect(rest).toHaveLength(0);
    validateManifest(job!);
    expect(job!.metadata.name).toBe(jobNameFor(attemptIdFor("radix", "x", 2)));
    const pod = job!.spec.template.spec;
    const phases: Doc[] = [...pod.initContainers, ...pod.containers];
    expect(phases.map((c) => c.name)).toEqual(["prepare", "execute", "deliver"]);
    const envOf = (c: Doc) => Object.fromEntries(c.env.map((e: Doc) => [e.name, e.value]));
    for (const phase of phases) {
      expect(envOf(phase), phase.name).toMatchObject({ TASK_ID: "x", TARGET_NAME: "radix" });
    }
    expect(envOf(phases[2]!)).toMatchObject({ ATTEMPT_NUMBER: "2" });
    // Tokens reach only prepare and deliver, as files of Secret volumes; no value is printed.
    expect(envOf(phases[1]!).CONTROL_PLANE_TOKEN_FILE).toBeUndefined();
    expect(envOf(phases[2]!).CONTROL_PLANE_TOKEN_FILE).toMatch(/^\/var\/run\/secrets\//);
    expect(run.stdout).not.toContain("secretKeyRef");
    expect(run.stdout).not.toContain("rendered-without-a-token");
  });

  it("render job --help says where the tokens go and which Secret the worker adds", async () => {
    const run = await leviathan(["render", "job", "--help"]);
    expect(run.code).toBe(0);
    const help = run.stdout.replace(/\s+/g, " ");
    expect(help).toContain("Tokens reach only prepare and deliver, as files of Secret volumes");
    expect(help).toContain("the worker also creates the Secret <job name>-token");
    expect(help).toContain("owned by the Job");
  });

  it("render job with github_app_id: the GitHub token comes from the Job's own Secret, nothing of the App", async () => {
    const config = join(dir, "app.yaml");
    await writeFile(
      config,
      `${await readFile(join(ROOT, "ops/autonomy/dev.yaml"), "utf8")}github_app_id: 4242\n`,
    );
    const run = await leviathan(["render", "job"], { LEVIATHAN_CONFIG: config });
    expect(run.code).toBe(0);
    const [job] = parseDocs(run.stdout, "stdout");
    validateManifest(job!);
    const secrets = job!.spec.template.spec.volumes
      .filter((v: Doc) => v.secret)
      .map((v: Doc) => `${v.secret.secretName}:${v.secret.items[0].key}`);
    expect(secrets.sort()).toEqual([
      `${job!.metadata.name}-token:control-plane-token`,
      `${job!.metadata.name}-token:github-token`,
    ]);
    expect(run.stdout).not.toContain("leviathan-secrets");
    expect(run.stdout).not.toContain("github-app");
    expect(run.stdout).not.toContain("rendered-without-a-token");
  });

  it("render job without options renders sample-task, attempt 1", async () => {
    const run = await leviathan(["render", "job"]);
    expect(run.code).toBe(0);
    const [job] = parseDocs(run.stdout, "stdout");
    expect(job!.metadata.labels["leviathan.dev/task"]).toBe("sample-task");
    expect(job!.metadata.name).toBe(jobNameFor(attemptIdFor("radix", "sample-task", 1)));
  });

  it("render job refuses a bad attempt number or task id with its usage (exit 2)", async () => {
    for (const args of [
      ["--attempt", "0"],
      ["--attempt", "two"],
      ["--task", "../x"],
    ]) {
      const run = await leviathan(["render", "job", ...args]);
      expect(run.code, args.join(" ")).toBe(2);
      expect(run.stderr).toContain("Usage: leviathan render job");
      expect(run.stdout).toBe("");
    }
  });

  it("render knative prints every manifest as one valid multi-document stream", async () => {
    const run = await leviathan(["render", "knative"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const docs = parseDocs(run.stdout, "stdout");
    expect(docs.map((d) => d.kind)).toEqual([
      "Namespace",
      "ServiceAccount",
      "ServiceAccount",
      "ServiceAccount",
      "Role",
      "RoleBinding",
      "Role",
      "RoleBinding",
      "NetworkPolicy",
      "PersistentVolumeClaim",
      "ConfigMap",
      "Deployment",
      "Service",
      "Service",
      "Service",
      "PingSource",
    ]);
    for (const doc of docs) validateManifest(doc);
  });

  it("render knative --write DIR writes the committed folder", async () => {
    const out = join(dir, "knative");
    const run = await leviathan(["render", "knative", "--write", out]);
    expect(run.code).toBe(0);
    const written = (await readdir(out)).sort();
    expect(written).toEqual(
      (await readdir(join(ROOT, "knative"))).filter((f) => f.endsWith(".yaml")).sort(),
    );
    for (const file of written) {
      expect(await readFile(join(out, file), "utf8"), file).toBe(
        await readFile(join(ROOT, "knative", file), "utf8"),
      );
    }
  });

  it("follows --config: another target's ConfigMap, schedule, image and namespace", async () => {
    const seed = await readFile(join(ROOT, "ops/autonomy/dev.yaml"), "utf8");
    const other = seed
      .replace("target_id: radix", "target_id: docs-site")
      .replace('"*/5 * * * *"', '"*/15 * * * *"')
      .replace("worker_image: leviathan-worker:local", "worker_image: registry.example/lev:1.2")
      .replace("worker_namespace: leviathan", "worker_namespace: lev-docs");
    const file = join(dir, "docs-site.yaml");
    await writeFile(file, other);
    const run = await leviathan(["render", "knative", "--config", file]);
    expect(run.code).toBe(0);
    const docs = parseDocs(run.stdout, "stdout");
    const configMap = docs.find((d) => d.kind === "ConfigMap")!;
    expect(Object.keys(configMap.data)).toEqual(["docs-site.yaml"]);
    expect(configMap.data["docs-site.yaml"]).toContain(
      "worker_url: http://leviathan-worker.lev-docs.svc.cluster.local",
    );
    expect(docs.find((d) => d.kind === "PingSource")!.spec.schedule).toBe("*/15 * * * *");
    expect(docs.find((d) => d.kind === "Deployment")!.spec.template.spec.containers[0].image).toBe(
      "registry.example/lev:1.2",
    );
    expect(new Set(docs.map((d) => d.metadata.namespace ?? d.metadata.name))).toEqual(
      new Set(["lev-docs"]),
    );
  });

  it("a bad config is an error naming the file and the field (exit 1)", async () => {
    const file = join(dir, "bad.yaml");
    await writeFile(file, "target_id: radix\nmax_open_prs: lots\n");
    for (const sub of ["job", "knative"]) {
      const run = await leviathan(["render", sub], { LEVIATHAN_CONFIG: file });
      expect(run.code, sub).toBe(1);
      expect(run.stderr).toContain(file);
      expect(run.stderr).toContain("max_open_prs");
      expect(run.stdout).toBe("");
    }
  });
});
