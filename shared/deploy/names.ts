/** Object names of the deployment, in one place for the manifests, the docs' commands and the tests. */
export const NAMES = {
  tick: "leviathan-tick",
  worker: "leviathan-worker",
  controlPlane: "leviathan-control-plane",
  eventsVolume: "leviathan-events",
  autonomyConfig: "leviathan-autonomy",
  attemptNetworkPolicy: "leviathan-attempt",
} as const;

/** Where the ConfigMap is mounted in the tick and the worker; `LEVIATHAN_CONFIG` points inside. */
export const CONFIG_MOUNT_DIR = "/etc/leviathan";

/** The control plane's port, the same inside the pod and on its Service. */
export const CONTROL_PLANE_PORT = 8000;

/** Where the event store's PVC is mounted. */
export const EVENTS_DIR = "/data/events";

/** The address a cluster-local Service (Kubernetes or Knative) answers on inside the cluster. */
export function clusterLocalUrl(name: string, namespace: string, port?: number): string {
  return `http://${name}.${namespace}.svc.cluster.local${port === undefined ? "" : `:${port}`}`;
}
