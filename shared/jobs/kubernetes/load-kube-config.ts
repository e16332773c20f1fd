import { KubeConfig } from "@kubernetes/client-node";

/**
 * In a pod (the API server's address injected as `KUBERNETES_SERVICE_HOST`), the
 * mounted service-account token; elsewhere `KUBECONFIG`, else `~/.kube/config`. Throws when
 * neither yields a cluster, so a caller can say why instead of failing on the first request.
 */
export function loadKubeConfig(env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (env.KUBERNETES_SERVICE_HOST) kubeConfig.loadFromCluster();
  else kubeConfig.loadFromDefault();
  if (!kubeConfig.getCurrentCluster()) {
    throw new Error("no current cluster in the Kubernetes configuration");
  }
  return kubeConfig;
}
