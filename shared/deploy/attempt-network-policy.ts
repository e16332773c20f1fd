import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import type { INetworkPolicyEgressRule } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicyEgressRule";
import { ATTEMPT_JOB_APP, ATTEMPT_LABEL } from "../jobs/build-attempt-job.ts";
import { CONTROL_PLANE_PORT, NAMES } from "./names.ts";
import type { StoreKind } from "./render-knative.ts";

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
  store: StoreKind = "ndjson",
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
        store === "postgres"
          ? knativeControlPlaneEgress()
          : {
              to: [{ podSelector: { matchLabels: { app: NAMES.controlPlane } } }],
              ports: [{ protocol: "TCP", port: CONTROL_PLANE_PORT }],
            },
        { to: [{ ipBlock: { cidr: "0.0.0.0/0", except: [...ATTEMPT_EGRESS_EXCEPT] } }] },
      ],
    },
  };
}

/**
 * A Knative Service is reached through Knative's networking layer, not its pods directly: the
 * cluster-local gateway (Kourier's internal listener, port 8081), the activator (8012) while
 * scaling, and the replicas' queue-proxy (8012, 8013 for TLS) once routed straight to them.
 * Another networking layer (Istio, Contour) needs its own gateway pods added here.
 */
function knativeControlPlaneEgress(): INetworkPolicyEgressRule {
  return {
    to: [
      { podSelector: { matchLabels: { app: NAMES.controlPlane } } },
      {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kourier-system" } },
        podSelector: { matchLabels: { app: "3scale-kourier-gateway" } },
      },
      {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "knative-serving" } },
        podSelector: { matchLabels: { app: "activator" } },
      },
    ],
    ports: [
      { protocol: "TCP", port: 8012 },
      { protocol: "TCP", port: 8013 },
      { protocol: "TCP", port: 8081 },
    ],
  };
}
