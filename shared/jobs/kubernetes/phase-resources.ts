import type { IResourceRequirements } from "kubernetes-models/v1/ResourceRequirements";
import type { AttemptPhase } from "../attempt-phases.ts";

/** `execute` runs the executor, the attempt's real work: it gets most of the budget. */
const EXECUTE_RESOURCES: IResourceRequirements = {
  requests: { cpu: "250m", memory: "256Mi", "ephemeral-storage": "1Gi" },
  limits: { cpu: "1", memory: "1Gi", "ephemeral-storage": "5Gi" },
};

/** `prepare` clones one branch shallowly and `deliver` commits and pushes: modest. */
const TRUSTED_PHASE_RESOURCES: IResourceRequirements = {
  requests: { cpu: "100m", memory: "128Mi", "ephemeral-storage": "256Mi" },
  limits: { cpu: "500m", memory: "512Mi", "ephemeral-storage": "1Gi" },
};

/**
 * A phase's requests and limits, a fresh copy each time. The init containers run one after
 * another, so the pod asks the node for the largest phase, not for the sum.
 */
export function phaseResources(phase: AttemptPhase): IResourceRequirements {
  return structuredClone(phase === "execute" ? EXECUTE_RESOURCES : TRUSTED_PHASE_RESOURCES);
}
