import { basename, dirname } from "node:path";
import type { IJob } from "kubernetes-models/batch/v1/Job";
import type { IEnvVar } from "kubernetes-models/v1/EnvVar";
import type { IPodSecurityContext } from "kubernetes-models/v1/PodSecurityContext";
import type { IResourceRequirements } from "kubernetes-models/v1/ResourceRequirements";
import type { ISecurityContext } from "kubernetes-models/v1/SecurityContext";
import type { AttemptJob } from "../types.ts";

/** The image's user and group (ops/Dockerfile creates them); not root, not a system id. */
export const IMAGE_USER_ID = 10001;

/** How long a finished Job (and its pod's logs) stays for `kubectl logs` and the tick's reconciliation. */
export const JOB_TTL_SECONDS_AFTER_FINISHED = 3600;

/** Pod-level hardening; `fsGroup` makes the emptyDir volumes writable by the image's user. */
export function hardenedPodSecurityContext(): IPodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: IMAGE_USER_ID,
    runAsGroup: IMAGE_USER_ID,
    fsGroup: IMAGE_USER_ID,
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** Container-level hardening: the same for Jobs, the control plane and the Knative Services. */
export function hardenedContainerSecurityContext(): ISecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: IMAGE_USER_ID,
    runAsGroup: IMAGE_USER_ID,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** An attempt clones one branch shallowly and runs one executor: modest, but bounded. */
export const ATTEMPT_RESOURCES: IResourceRequirements = {
  requests: { cpu: "250m", memory: "256Mi", "ephemeral-storage": "1Gi" },
  limits: { cpu: "1", memory: "1Gi", "ephemeral-storage": "5Gi" },
};

/** The image's entry point runs this (ops/docker-entrypoint.sh, under tini). */
export const ATTEMPT_ARGS = ["leviathan", "attempt"];

const WORKSPACE_ENV = "LEVIATHAN_WORKSPACE_DIR";
const DEFAULT_WORKSPACE_DIR = "/workspace";

function envOf(job: AttemptJob): IEnvVar[] {
  return [
    ...job.env.map((variable) => ({ name: variable.name, value: variable.value })),
    ...job.tokenFiles.map((file) => ({ name: file.variable, value: file.path })),
  ];
}

function workspaceDirOf(job: AttemptJob): string {
  return job.env.find((v) => v.name === WORKSPACE_ENV)?.value ?? DEFAULT_WORKSPACE_DIR;
}

/**
 * DESIGN §12: one attempt as a batch/v1 Job. Never retried by Kubernetes (the tick decides
 * retries), killed at its deadline, nothing writable but its workspace and `/tmp`, no API token,
 * and an environment that is exactly the AttemptJob's (no Service links injected).
 */
export function toJobManifest(job: AttemptJob): IJob {
  const labels = { ...job.labels };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: job.name, namespace: job.namespace, labels },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: job.deadlineSeconds,
      ttlSecondsAfterFinished: JOB_TTL_SECONDS_AFTER_FINISHED,
      template: {
        metadata: { labels: { ...labels } },
        spec: {
          restartPolicy: "Never",
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: hardenedPodSecurityContext(),
          containers: [
            {
              name: "attempt",
              image: job.image,
              args: [...ATTEMPT_ARGS],
              env: envOf(job),
              resources: structuredClone(ATTEMPT_RESOURCES),
              securityContext: hardenedContainerSecurityContext(),
              volumeMounts: [
                { name: "workspace", mountPath: workspaceDirOf(job) },
                { name: "tmp", mountPath: "/tmp" },
                ...job.tokenFiles.map((file) => ({
                  name: file.volume,
                  mountPath: dirname(file.path),
                  readOnly: true,
                })),
              ],
            },
          ],
          volumes: [
            { name: "workspace", emptyDir: { sizeLimit: "4Gi" } },
            { name: "tmp", emptyDir: { sizeLimit: "512Mi" } },
            ...job.tokenFiles.map((file) => ({
              name: file.volume,
              secret: {
                secretName: file.secret.name,
                items: [{ key: file.secret.key, path: basename(file.path) }],
                defaultMode: 0o440,
              },
            })),
          ],
        },
      },
    },
  };
}
