import { Job } from "kubernetes-models/batch/v1/Job";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../config/load-config.ts";
import { attemptIdFor } from "../../events/ids.ts";
import {
  buildAttemptJob,
  OPTIONAL_ATTEMPT_ENV,
  REQUIRED_ATTEMPT_ENV,
} from "../build-attempt-job.ts";
import { IMAGE_USER_ID, toJobManifest } from "./job-manifest.ts";

const { config } = await loadConfig("ops/autonomy/dev.yaml");
const attemptId = attemptIdFor(config.target_id, "task-1", 1);
const job = buildAttemptJob(
  config,
  {
    target_id: config.target_id,
    task_id: "task-1",
    attempt_id: attemptId,
    attempt_number: 1,
    config: "dev.yaml",
  },
  { attemptToken: "lvat1~radix~attempt~test-only" },
);
const manifest = toJobManifest(job);
const spec = manifest.spec!;
const pod = spec.template.spec!;
const container = pod.containers[0]!;

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

  it("is hardened: non-root, read-only root, no capabilities, seccomp, no API token", () => {
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.enableServiceLinks).toBe(false);
    expect(pod.hostNetwork ?? false).toBe(false);
    expect(pod.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: IMAGE_USER_ID,
      runAsGroup: IMAGE_USER_ID,
      fsGroup: IMAGE_USER_ID,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(container.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: IMAGE_USER_ID,
      runAsGroup: IMAGE_USER_ID,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(container.resources?.requests).toMatchObject({ cpu: "250m", memory: "256Mi" });
    expect(container.resources?.limits).toMatchObject({ cpu: "1", memory: "1Gi" });
  });

  it("writes only to emptyDir volumes at the workspace and /tmp", () => {
    expect(container.volumeMounts?.slice(0, 2)).toEqual([
      { name: "workspace", mountPath: config.workspace_dir },
      { name: "tmp", mountPath: "/tmp" },
    ]);
    for (const mount of container.volumeMounts?.slice(2) ?? []) expect(mount.readOnly).toBe(true);
    for (const volume of pod.volumes ?? []) {
      const kind = volume.name.endsWith("-token") ? "secret" : "emptyDir";
      expect(Object.keys(volume).sort()).toEqual([kind, "name"].sort());
    }
    expect(pod.volumes?.map((v) => v.name)).toEqual([
      "workspace",
      "tmp",
      "github-token",
      "attempt-token",
    ]);
  });

  it("mounts the workspace wherever the config puts it", () => {
    const other = buildAttemptJob(
      { ...config, workspace_dir: "/var/run/leviathan/ws" },
      {
        target_id: config.target_id,
        task_id: "t",
        attempt_id: attemptIdFor(config.target_id, "t", 1),
        attempt_number: 1,
        config: "dev.yaml",
      },
      { attemptToken: "lvat1~radix~attempt~test-only" },
    );
    const mounts = toJobManifest(other).spec!.template.spec!.containers[0]!.volumeMounts;
    expect(mounts?.[0]).toEqual({ name: "workspace", mountPath: "/var/run/leviathan/ws" });
  });

  it("runs `leviathan attempt` from the job's image", () => {
    expect(pod.containers).toHaveLength(1);
    expect(pod.initContainers).toBeUndefined();
    expect(container.image).toBe(config.worker_image);
    expect(container.command).toBeUndefined(); // the image's entry point (tini) stays PID 1
    expect(container.args).toEqual(["leviathan", "attempt"]);
  });

  it("has §5's environment and nothing else, tokens only as files of Secret volumes", () => {
    const env = container.env ?? [];
    expect(env.map((v) => v.name)).toEqual([
      ...REQUIRED_ATTEMPT_ENV.filter((n) => !n.endsWith("_TOKEN")),
      ...OPTIONAL_ATTEMPT_ENV.filter((n) => n !== "LEVIATHAN_EXECUTOR_COMMAND"),
      "GITHUB_TOKEN_FILE",
      "CONTROL_PLANE_TOKEN_FILE",
    ]);
    expect(container.envFrom).toBeUndefined();
    for (const variable of env) {
      expect(variable.valueFrom).toBeUndefined();
      expect(typeof variable.value).toBe("string");
    }
  });

  it("does not share objects with the AttemptJob (a runner may mutate its copy)", () => {
    const again = toJobManifest(job);
    again.metadata!.labels!.app = "changed";
    again.spec!.template.spec!.containers[0]!.resources!.limits!.cpu = "99";
    expect(job.labels.app).toBe("leviathan-worker");
    expect(toJobManifest(job)).toEqual(manifest);
  });
});
