import type { ISecret } from "kubernetes-models/v1/Secret";
import type { AttemptJob } from "../types.ts";

/**
 * The attempt's own Secret (`<job name>-token`), owned by its Job so that deleting the Job
 * (its TTL, `kubectl delete job`) deletes the Secret too. Not the controller: nothing
 * reconciles it. `blockOwnerDeletion` keeps a foreground delete of the Job from finishing
 * before the Secret is gone. Its type is the literal's, so that both kubernetes-models and the
 * API client accept it.
 */
export function toAttemptSecretManifest(job: AttemptJob, jobUid: string) {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: job.attemptSecret.name,
      namespace: job.namespace,
      labels: { ...job.labels },
      ownerReferences: [
        {
          apiVersion: "batch/v1",
          kind: "Job",
          name: job.name,
          uid: jobUid,
          blockOwnerDeletion: true,
          controller: false,
        },
      ],
    },
    type: "Opaque",
    stringData: { ...job.attemptSecret.data },
  } satisfies ISecret;
}
