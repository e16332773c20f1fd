import { basename, dirname } from "node:path";
import { Job } from "kubernetes-models/batch/v1/Job";
import type { IContainer } from "kubernetes-models/v1/Container";
import { describe, expect, it } from "vitest";
import { repoPath } from "../../../test/support/repo-root.ts";
import { loadConfig } from "../../config/load-config.ts";
import type { AutonomyConfig } from "../../config/schema.ts";
import { attemptIdFor } from "../../events/ids.ts";
import {
  EXECUTE_PHASE_ENV,
  EXECUTOR_SECRET,
  EXECUTOR_USER_ID,
  phaseArgs,
  TRUSTED_DIR_IN_POD,
} from "../attempt-phases.ts";
import {
  buildAttemptJob,
  OPTIONAL_ATTEMPT_ENV,
  REQUIRED_ATTEMPT_ENV,
} from "../build-attempt-job.ts";
import { IMAGE_USER_ID, toJobManifest } from "./job-manifest.ts";

const ATTEMPT_TOKEN = "lvat1~radix~attempt~test-only-0123456789";
const { config: seed } = await loadConfig(repoPath("ops", "autonomy", "dev.yaml"));
// With a command, so every variable `execute` may get is there to be filtered.
const config: AutonomyConfig = { ...seed, executor_command: ["my-agent", "--task"] };

function jobFor(overrides: Partial<AutonomyConfig> = {}, taskId = "task-1") {
  const c = { ...config, ...overrides };
  return buildAttemptJob(
    c,
    {
      target_id: c.target_id,
      task_id: taskId,
      attempt_id: attemptIdFor(c.target_id, taskId, 1),
      attempt_number: 1,
      config: "dev.yaml",
    },
    { attemptToken: ATTEMPT_TOKEN },
  );
}

const job = jobFor();
const attemptId = attemptIdFor(config.target_id, "task-1", 1);
const manifest = toJobManifest(job);
const spec = manifest.spec!;
const pod = spec.template.spec!;
const all: IContainer[] = [...(pod.initContainers ?? []), ...pod.containers];
function container(name: string): IContainer {
  const found = all.filter((c) => c.name === name);
  expect(found, name).toHaveLength(1);
  return found[0]!;
}
const prepare = container("prepare");
const execute = container("execute");
const deliver = container("deliver");
const secretVolumes = new Set(
  (pod.volumes ?? []).filter((v) => v.secret !== undefined).map((v) => v.name),
);

const HARDENED = {
  runAsNonRoot: true,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  privileged: false,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

describe("toJobManifest", () => {
  it("is a batch/v1 Job that kubernetes-models accepts", () => {
    expect(() => new Job(manifest).validate()).not.toThrow();
    expect(manifest.metadata).toEqual({
      name: job.name,
      namespace: "leviathan",
      labels: job.labels,
    });
  });

  it("the validator is not a no-op: a broken Job is refused", () => {
    const broken = structuredClone(manifest) as unknown as {
      spec: { template: { spec: { restartPolicy: unknown } } };
    };
    broken.spec.template.spec.restartPolicy = 0;
    expect(() => new Job(broken as never).validate()).toThrow(/restartPolicy/);
  });

  it("runs once, until the attempt's deadline, and is cleaned up after an hour", () => {
    expect(spec.backoffLimit).toBe(0);
    expect(spec.activeDeadlineSeconds).toBe(config.attempt_timeout_seconds);
    expect(spec.ttlSecondsAfterFinished).toBe(3600);
    expect(pod.restartPolicy).toBe("Never");
  });

  it("labels the pod like the Job, so its logs can be found by attempt", () => {
    expect(spec.template.metadata?.labels).toEqual(job.labels);
    expect(spec.template.metadata?.labels?.["leviathan.dev/attempt"]).toBe(attemptId);
  });

  it("runs the phases in order: init prepare, init execute, then deliver, one image", () => {
    expect(pod.initContainers?.map((c) => c.name)).toEqual(["prepare", "execute"]);
    expect(pod.containers.map((c) => c.name)).toEqual(["deliver"]);
    for (const c of all) {
      expect(c.image, c.name).toBe(config.worker_image);
      expect(c.command, c.name).toBeUndefined(); // the image's entry point (tini) stays PID 1
    }
    expect(prepare.args).toEqual(phaseArgs("prepare"));
    expect(execute.args).toEqual(phaseArgs("execute"));
    expect(deliver.args).toEqual(phaseArgs("deliver"));
    expect(prepare.args).toEqual([
      "leviathan",
      "attempt",
      "prepare",
      "--trusted-dir",
      TRUSTED_DIR_IN_POD,
    ]);
  });

  it("is hardened: non-root, read-only root, no capabilities, seccomp, no API token", () => {
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.enableServiceLinks).toBe(false);
    expect(pod.hostNetwork ?? false).toBe(false);
    expect(pod.serviceAccountName).toBeUndefined();
    expect(pod.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: IMAGE_USER_ID,
      runAsGroup: IMAGE_USER_ID,
      fsGroup: IMAGE_USER_ID,
      seccompProfile: { type: "RuntimeDefault" },
    });
    for (const c of [prepare, deliver]) {
      expect(c.securityContext, c.name).toEqual({
        ...HARDENED,
        runAsUser: IMAGE_USER_ID,
        runAsGroup: IMAGE_USER_ID,
      });
    }
  });

  it("execute runs as its own user, 10002, with the same hardening", () => {
    expect(EXECUTOR_USER_ID).toBe(10002);
    expect(execute.securityContext).toEqual({ ...HARDENED, runAsUser: 10002, runAsGroup: 10002 });
  });

  it("limits every container; execute gets most of the budget", () => {
    for (const c of all) {
      for (const resource of ["cpu", "memory", "ephemeral-storage"]) {
        expect(c.resources?.limits?.[resource], `${c.name} ${resource}`).toBeDefined();
        expect(c.resources?.requests?.[resource], `${c.name} ${resource}`).toBeDefined();
      }
    }
    expect(execute.resources?.limits).toMatchObject({ cpu: "1", memory: "1Gi" });
    for (const c of [prepare, deliver]) {
      expect(c.resources?.limits, c.name).toMatchObject({ cpu: "500m", memory: "512Mi" });
    }
  });

  it("has emptyDir volumes for the workspace, the trusted folder and each /tmp, and a Secret volume per token file", () => {
    expect(pod.volumes?.map((v) => v.name)).toEqual([
      "workspace",
      "trusted",
      "tmp",
      "execute-tmp",
      "github-token",
      "attempt-token",
    ]);
    for (const volume of pod.volumes ?? []) {
      const kind = secretVolumes.has(volume.name) ? "secret" : "emptyDir";
      expect(Object.keys(volume).sort(), volume.name).toEqual([kind, "name"].sort());
    }
    for (const file of job.tokenFiles) {
      const volume = pod.volumes?.find((v) => v.name === file.volume);
      expect(volume?.secret).toEqual({
        secretName: file.secret.name,
        items: [{ key: file.secret.key, path: basename(file.path) }],
        defaultMode: 0o440,
      });
    }
  });

  it("prepare and deliver mount the workspace, the trusted folder, /tmp and the tokens (read-only)", () => {
    for (const c of [prepare, deliver]) {
      expect(c.volumeMounts, c.name).toEqual([
        { name: "workspace", mountPath: config.workspace_dir },
        { name: "trusted", mountPath: TRUSTED_DIR_IN_POD },
        { name: "tmp", mountPath: "/tmp" },
        { name: "github-token", mountPath: "/var/run/secrets/leviathan/github", readOnly: true },
        { name: "attempt-token", mountPath: "/var/run/secrets/leviathan/attempt", readOnly: true },
      ]);
    }
  });

  it("execute mounts the workspace and a /tmp of its own: no Secret volume, not the trusted folder", () => {
    expect(execute.volumeMounts).toEqual([
      { name: "workspace", mountPath: config.workspace_dir },
      { name: "execute-tmp", mountPath: "/tmp" },
    ]);
    for (const mount of execute.volumeMounts ?? []) {
      expect(secretVolumes.has(mount.name), mount.name).toBe(false);
      expect(mount.name).not.toBe("trusted");
      expect(mount.mountPath).not.toBe(TRUSTED_DIR_IN_POD);
    }
  });

  it("mounts the workspace wherever the config puts it, in every phase", () => {
    const other = toJobManifest(jobFor({ workspace_dir: "/var/run/leviathan/ws" }, "t"));
    const pods = other.spec!.template.spec!;
    for (const c of [...(pods.initContainers ?? []), ...pods.containers]) {
      expect(c.volumeMounts?.[0], c.name).toEqual({
        name: "workspace",
        mountPath: "/var/run/leviathan/ws",
      });
    }
  });

  it("prepare and deliver have the attempt's environment, tokens only as paths of Secret files", () => {
    for (const c of [prepare, deliver]) {
      expect(c.env?.map((v) => v.name)).toEqual([
        ...REQUIRED_ATTEMPT_ENV.filter((n) => !n.endsWith("_TOKEN")),
        ...OPTIONAL_ATTEMPT_ENV,
        "GITHUB_TOKEN_FILE",
        "CONTROL_PLANE_TOKEN_FILE",
      ]);
      expect(c.envFrom, c.name).toBeUndefined();
      // Each *_FILE names a file that a read-only Secret mount of this container provides.
      for (const file of job.tokenFiles) {
        const path = c.env?.find((v) => v.name === file.variable)?.value ?? "";
        const mount = c.volumeMounts?.find((m) => m.mountPath === dirname(path));
        expect(mount?.readOnly, `${c.name} ${file.variable}`).toBe(true);
        const volume = pod.volumes?.find((v) => v.name === mount?.name);
        expect(volume?.secret?.items).toEqual([{ key: file.secret.key, path: basename(path) }]);
      }
    }
  });

  it("execute gets only EXECUTE_PHASE_ENV and the optional executor Secret", () => {
    const names = execute.env?.map((v) => v.name) ?? [];
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(EXECUTE_PHASE_ENV as readonly string[]).toContain(name);
    expect(names).toContain("LEVIATHAN_EXECUTOR_COMMAND");
    expect(names).not.toContain("GITHUB_TOKEN_FILE");
    expect(names).not.toContain("CONTROL_PLANE_TOKEN_FILE");
    expect(names).not.toContain("CONTROL_PLANE_URL");
    expect(execute.envFrom).toEqual([{ secretRef: { name: EXECUTOR_SECRET, optional: true } }]);
    const values = Object.fromEntries((execute.env ?? []).map((v) => [v.name, v.value]));
    expect(values).toMatchObject({ TASK_ID: "task-1", ATTEMPT_ID: attemptId });
  });

  it("no container has a secretKeyRef, and no token value is anywhere in the manifest", () => {
    for (const c of all) {
      for (const variable of c.env ?? []) {
        expect(variable.valueFrom, `${c.name} ${variable.name}`).toBeUndefined();
        expect(typeof variable.value).toBe("string");
        expect(variable.value).not.toBe(ATTEMPT_TOKEN);
      }
      for (const source of c.envFrom ?? []) expect(source.secretRef?.name).toBe(EXECUTOR_SECRET);
    }
    expect(JSON.stringify(manifest)).not.toContain(ATTEMPT_TOKEN);
    expect(JSON.stringify(manifest)).not.toContain("secretKeyRef");
  });

  it("does not share objects with the AttemptJob (a runner may mutate its copy)", () => {
    const again = toJobManifest(job);
    again.metadata!.labels!.app = "changed";
    again.spec!.template.spec!.containers[0]!.resources!.limits!.cpu = "99";
    again.spec!.template.spec!.initContainers![1]!.resources!.limits!.cpu = "99";
    again.spec!.template.spec!.volumes![4]!.secret!.items![0]!.path = "changed";
    expect(job.labels.app).toBe("leviathan-worker");
    expect(toJobManifest(job)).toEqual(manifest);
  });
});
