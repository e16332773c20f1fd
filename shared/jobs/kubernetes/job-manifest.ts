import type { IJob } from "kubernetes-models/batch/v1/Job";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodSecurityContext } from "kubernetes-models/v1/PodSecurityContext";
import type { ISecurityContext } from "kubernetes-models/v1/SecurityContext";
import { type AttemptPhase, EXECUTOR_USER_ID, phaseArgs } from "../attempt-phases.ts";
import type { AttemptJob } from "../types.ts";
import { attemptPodVolumes, phaseVolumeMounts } from "./attempt-pod-volumes.ts";
import { phaseEnv } from "./phase-env.ts";
import { phaseResources } from "./phase-resources.ts";

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
export function hardenedContainerSecurityContext(userId = IMAGE_USER_ID): ISecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: userId,
    runAsGroup: userId,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/**
 * One phase as a container of the image; its entry point (tini) stays PID 1, so only `args`.
 * `execute` runs as a user of its own. The pod's fsGroup still gives it the image's group
 * (Kubernetes applies fsGroup to every container), so what keeps the trusted files and the
 * tokens from it is that their volumes are not mounted into it at all.
 */
function phaseContainer(phase: AttemptPhase, job: AttemptJob): IContainer {
  return {
    name: phase,
    image: job.image,
    args: phaseArgs(phase),
    ...phaseEnv(phase, job),
    resources: phaseResources(phase),
    securityContext: hardenedContainerSecurityContext(
      phase === "execute" ? EXECUTOR_USER_ID : IMAGE_USER_ID,
    ),
    volumeMounts: phaseVolumeMounts(phase, job),
  };
}

/**
 * One attempt as a batch/v1 Job whose pod runs the attempt's phases in order: init containers
 * `prepare` then `execute`, then the container `deliver`; a phase that fails stops the pod.
 * Never retried by Kubernetes (the tick decides retries), killed at its deadline, nothing
 * writable but its emptyDir volumes, no API token, no Service links, and tokens only as files
 * of Secret volumes in the two trusted phases.
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
          initContainers: [phaseContainer("prepare", job), phaseContainer("execute", job)],
          containers: [phaseContainer("deliver", job)],
          volumes: attemptPodVolumes(job),
        },
      },
    },
  };
}
