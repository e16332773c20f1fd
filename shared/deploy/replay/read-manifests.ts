import { parseAllDocuments } from "yaml";
import { MANIFESTS, ReplayError } from "./replay-types.ts";

/** The parts of a Kubernetes object the replay reads; everything else is ignored. */
export interface ManifestObject {
  kind?: string;
  metadata?: { name?: string };
  data?: Record<string, string>;
  spec?: { template?: { spec?: PodSpec } };
  resources?: string[];
}

export interface PodSpec {
  containers?: ContainerSpec[];
  volumes?: { name: string; configMap?: { name: string } }[];
  securityContext?: { runAsUser?: number; runAsGroup?: number };
}

export interface ContainerSpec {
  name: string;
  command?: string[];
  args?: string[];
  env?: EnvVarSpec[];
  ports?: { containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string }[];
  readinessProbe?: { httpGet?: { path?: string } };
  securityContext?: { runAsUser?: number; runAsGroup?: number };
}

export interface EnvVarSpec {
  name: string;
  value?: string | number | boolean;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string };
  };
}

/** Every object of the kustomization's resources. */
export async function readManifests(
  readText: (path: string) => Promise<string>,
): Promise<ManifestObject[]> {
  const kustomization = parseYaml(await readText(`${MANIFESTS}/kustomization.yaml`));
  const objects: ManifestObject[] = [];
  for (const resource of kustomization[0]?.resources ?? []) {
    objects.push(...parseYaml(await readText(`${MANIFESTS}/${resource}`)));
  }
  return objects;
}

function parseYaml(text: string): ManifestObject[] {
  return parseAllDocuments(text)
    .map((document) => {
      const [error] = document.errors;
      if (error) throw new ReplayError(error.message);
      return document.toJS() as ManifestObject | null;
    })
    .filter((object): object is ManifestObject => object !== null);
}
