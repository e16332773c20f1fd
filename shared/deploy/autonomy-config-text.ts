import { parseDocument, stringify } from "yaml";
import { parseConfig } from "../config/load-config.ts";
import type { AutonomyConfig } from "../config/schema.ts";

/**
 * The config file as the cluster reads it: the same fields with `worker_url` set. From the
 * file's own text when there is one, so its comments and order survive; the result is parsed
 * again so a ConfigMap can never hold a config the tick would refuse.
 */
export function autonomyConfigText(
  config: AutonomyConfig,
  workerUrl: string,
  sourceText?: string,
): string {
  let text: string;
  if (sourceText === undefined) {
    text = stringify({ ...config, worker_url: workerUrl }, { lineWidth: 0 });
  } else {
    const doc = parseDocument(sourceText);
    doc.set("worker_url", workerUrl);
    text = doc.toString({ lineWidth: 0, flowCollectionPadding: false });
  }
  parseConfig(text, "ConfigMap data");
  return text;
}
