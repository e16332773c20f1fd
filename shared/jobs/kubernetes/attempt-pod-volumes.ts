import { basename, dirname } from "node:path";
import type { IVolume } from "kubernetes-models/v1/Volume";
import type { IVolumeMount } from "kubernetes-models/v1/VolumeMount";
import { type AttemptPhase, TRUSTED_DIR_IN_POD } from "../attempt-phases.ts";
import type { AttemptJob } from "../types.ts";

/** The pod's emptyDir volumes; the token files' Secret volumes are named by `job.tokenFiles`. */
export const WORKSPACE_VOLUME = "workspace";
export const TRUSTED_VOLUME = "trusted";
export const TMP_VOLUME = "tmp";
export const EXECUTE_TMP_VOLUME = "execute-tmp";

const WORKSPACE_ENV = "LEVIATHAN_WORKSPACE_DIR";
const DEFAULT_WORKSPACE_DIR = "/workspace";

function workspaceDirOf(job: AttemptJob): string {
  return job.env.find((v) => v.name === WORKSPACE_ENV)?.value ?? DEFAULT_WORKSPACE_DIR;
}

/**
 * Every volume of an attempt's pod. Nothing else is writable (the root filesystems are
 * read-only), so these are all the ways one phase can hand anything to the next.
 */
export function attemptPodVolumes(job: AttemptJob): IVolume[] {
  return [
    { name: WORKSPACE_VOLUME, emptyDir: { sizeLimit: "4Gi" } },
    { name: TRUSTED_VOLUME, emptyDir: { sizeLimit: "2Gi" } },
    { name: TMP_VOLUME, emptyDir: { sizeLimit: "512Mi" } },
    { name: EXECUTE_TMP_VOLUME, emptyDir: { sizeLimit: "512Mi" } },
    ...job.tokenFiles.map((file) => ({
      name: file.volume,
      secret: {
        secretName: file.secret.name,
        items: [{ key: file.secret.key, path: basename(file.path) }],
        // Owned by root; group-readable so the image's group (the pod's fsGroup) can read it.
        defaultMode: 0o440,
      },
    })),
  ];
}

/**
 * What one phase mounts. Only the workspace is shared by all three; `execute` gets neither
 * the trusted folder nor a token, and a /tmp of its own so nothing passes through /tmp.
 */
export function phaseVolumeMounts(phase: AttemptPhase, job: AttemptJob): IVolumeMount[] {
  const workspace = { name: WORKSPACE_VOLUME, mountPath: workspaceDirOf(job) };
  if (phase === "execute") return [workspace, { name: EXECUTE_TMP_VOLUME, mountPath: "/tmp" }];
  return [
    workspace,
    { name: TRUSTED_VOLUME, mountPath: TRUSTED_DIR_IN_POD },
    { name: TMP_VOLUME, mountPath: "/tmp" },
    ...job.tokenFiles.map((file) => ({
      name: file.volume,
      mountPath: dirname(file.path),
      readOnly: true,
    })),
  ];
}
