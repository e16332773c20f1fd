import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { ATTEMPT_JOB_APP, ATTEMPT_LABEL } from "../jobs/build-attempt-job.ts";
import { CONTROL_PLANE_PORT, NAMES } from "./names.ts";

/**
 * Addresses an attempt never reaches through the "outside the cluster" rule: the cloud
 * metadata service (node credentials) and the private ranges, where a cluster's pods, Services
 * and nodes usually are. A policy cannot name "outside the cluster", so operators whose pod or
 * Service CIDRs lie elsewhere (100.64.0.0/10, say) add them here.
 */
export const ATTEMPT_EGRESS_EXCEPT = [
  "169.254.169.254/32",
  "10.0.0.0/8",
  "172.16.0.0/12",
  "192.168.0.0/16",
];

/**
 * The attempt pods' network: nothing may connect to them, and they may reach only DNS, the
 * control plane's pods on its port and addresses outside the cluster (GitHub, the executor's
 * model API). The executor shares the pod with the trusted phases, so this is its network too.
 * Enforced only where the cluster's network plugin implements NetworkPolicy.
 */
export function attemptNetworkPolicy(
  namespace: string,
  labels: Record<string, string>,
): INetworkPolicy {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: NAMES.attemptNetworkPolicy, namespace, labels: { ...labels } },
    spec: {
      // The attempt label as well: the worker's own Knative pods must not be caught by `app`.
      podSelector: {
        matchLabels: { app: ATTEMPT_JOB_APP },
        matchExpressions: [{ key: ATTEMPT_LABEL, operator: "Exists" }],
      },
      // Ingress listed with no rules: every connection to an attempt pod is refused.
      policyTypes: ["Ingress", "Egress"],
      egress: [
        {
          to: [{ namespaceSelector: {}, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }],
          ports: [
            { protocol: "UDP", port: 53 },
            { protocol: "TCP", port: 53 },
          ],
        },
        {
          to: [{ podSelector: { matchLabels: { app: NAMES.controlPlane } } }],
          ports: [{ protocol: "TCP", port: CONTROL_PLANE_PORT }],
        },
        { to: [{ ipBlock: { cidr: "0.0.0.0/0", except: [...ATTEMPT_EGRESS_EXCEPT] } }] },
      ],
    },
  };
}
