// A deployment with a GitHub App: the App's key is a Secret volume of the tick and the worker
// only; a Job (as rendered, and as the Kubernetes API receives it) gets its own token Secret
// and nothing of the App's.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../shared/config/load-config.ts";
import { exampleSecrets } from "../../shared/deploy/knative-files.ts";
import { renderKnative } from "../../shared/deploy/render-knative.ts";
import { attemptIdFor } from "../../shared/events/ids.ts";
import { buildAttemptJob } from "../../shared/jobs/build-attempt-job.ts";
import { toJobManifest } from "../../shared/jobs/kubernetes/job-manifest.ts";
import { createKubernetesJobRunner } from "../../shared/jobs/kubernetes/kubernetes-job-runner.ts";
import { type FakeKubernetes, startFakeKubernetes } from "../support/fake-kubernetes.ts";
import { repoPath } from "../support/repo-root.ts";
import { type Doc, validateManifest } from "./manifest-models.ts";

const config = parseConfig(
  `${readFileSync(repoPath("ops", "autonomy", "dev.yaml"), "utf8")}github_app_id: 123456\n`,
  "dev.yaml",
);
const manifests = renderKnative(config) as Doc[];
const service = (name: string) =>
  manifests.find((m) => m.kind === "Service" && m.metadata.name === name && m.spec.template)!;
const job = buildAttemptJob(
  config,
  {
    target_id: config.target_id,
    task_id: "task-1",
    attempt_id: attemptIdFor(config.target_id, "task-1", 1),
    attempt_number: 1,
    config: "dev.yaml",
  },
  {
    attemptToken: "lvat1~radix~attempt~ATTEMPT-TOKEN-0123456789",
    githubToken: "ghs_minted0123456789",
  },
);

let fake: FakeKubernetes;
beforeAll(async () => {
  fake = await startFakeKubernetes();
});
afterAll(async () => {
  await fake.close();
});

describe("render knative with a GitHub App", () => {
  it("validates, and mounts the App's key into the tick and the worker only", () => {
    for (const manifest of manifests) validateManifest(manifest);
    const mentions = manifests
      .filter((m) => JSON.stringify(m).includes("leviathan-github-app"))
      .map((m) => `${m.kind}/${m.metadata.name}`);
    expect(mentions.sort()).toEqual(["Service/leviathan-tick", "Service/leviathan-worker"]);
    for (const name of ["leviathan-tick", "leviathan-worker"]) {
      const spec = service(name).spec.template.spec;
      const container = spec.containers[0];
      const keyFile = container.env.find((e: Doc) => e.name === "GITHUB_APP_PRIVATE_KEY_FILE");
      expect(keyFile.value).toBe("/var/run/secrets/leviathan/github-app/private-key.pem");
      const mount = container.volumeMounts.find((m: Doc) => m.name === "github-app");
      expect(mount).toMatchObject({
        mountPath: "/var/run/secrets/leviathan/github-app",
        readOnly: true,
      });
      const volume = spec.volumes.find((v: Doc) => v.name === "github-app");
      expect(volume.secret).toMatchObject({
        secretName: "leviathan-github-app",
        items: [{ key: "private-key.pem", path: "private-key.pem" }],
      });
    }
    // The tick no longer holds a personal token.
    const tickEnv = service("leviathan-tick").spec.template.spec.containers[0].env;
    expect(tickEnv.map((e: Doc) => e.name)).not.toContain("GITHUB_TOKEN");
    expect(
      exampleSecrets(config).map((s) => [s.metadata?.name, Object.keys(s.stringData ?? {})]),
    ).toContainEqual(["leviathan-github-app", ["private-key.pem"]]);
  });

  it("a Job reads its GitHub token from its own Secret and nothing of the App", async () => {
    const manifest = toJobManifest(job) as Doc;
    validateManifest(manifest);
    const text = JSON.stringify(manifest);
    expect(text).not.toContain("leviathan-github-app");
    expect(text).not.toContain("GITHUB_APP");
    expect(text).not.toContain("leviathan-secrets");
    expect(text).not.toContain("ghs_minted");
    const secretVolumes = manifest.spec.template.spec.volumes
      .filter((v: Doc) => v.secret)
      .map((v: Doc) => `${v.secret.secretName}:${v.secret.items[0].key}`);
    expect(secretVolumes.sort()).toEqual([
      `${job.name}-token:control-plane-token`,
      `${job.name}-token:github-token`,
    ]);

    const runner = createKubernetesJobRunner({
      kubeConfig: fake.kubeConfig(),
      namespace: fake.namespace,
      retryDelayMs: 10,
    });
    await runner.submit(job);
    const stored = JSON.stringify(fake.job(job.name));
    expect(stored).not.toContain("leviathan-github-app");
    expect(stored).not.toContain("PRIVATE KEY");
    expect(stored).not.toContain("ghs_minted");
    const secret = fake.secret(`${job.name}-token`) as Doc;
    expect(Object.keys(secret.data).sort()).toEqual(["control-plane-token", "github-token"]);
    expect(Buffer.from(secret.data["github-token"], "base64").toString()).toBe(
      "ghs_minted0123456789",
    );
    expect(secret.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: "Job", name: job.name, blockOwnerDeletion: true }),
    ]);
    expect(fake.secretNames()).not.toContain("leviathan-github-app");
  });
});
