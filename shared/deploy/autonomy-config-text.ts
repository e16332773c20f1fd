import { parseDocument, stringify } from "yaml";
import { parseConfig } from "../config/load-config.ts";
import type { AutonomyConfig } from "../config/schema.ts";

export interface ClusterAddresses {
  workerUrl: string;
  /** Set when the control plane is not the config's own address (the Knative Service). */
  controlPlaneUrl?: string;
  /** The config file's text, so its comments and order survive. */
  sourceText?: string;
}

/**
 * The config file as the cluster reads it: the same fields with `worker_url` (and, when given,
 * `control_plane_url`) set. From the file's own text when there is one; the result is parsed
 * again so a ConfigMap can never hold a config the tick would refuse.
 */
export function autonomyConfigText(config: AutonomyConfig, addresses: ClusterAddresses): string {
  const { workerUrl, controlPlaneUrl, sourceText } = addresses;
  const set = {
    worker_url: workerUrl,
    ...(controlPlaneUrl !== undefined ? { control_plane_url: controlPlaneUrl } : {}),
  };
  let text: string;
  if (sourceText === undefined) {
    text = stringify({ ...config, ...set }, { lineWidth: 0 });
  } else {
    const doc = parseDocument(sourceText);
    for (const [key, value] of Object.entries(set)) doc.set(key, value);
    text = doc.toString({ lineWidth: 0, flowCollectionPadding: false });
  }
  parseConfig(text, "ConfigMap data");
  return text;
}
