import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { Service as KnativeService } from "@kubernetes-models/knative/serving.knative.dev/v1/Service";
import { PingSource } from "@kubernetes-models/knative/sources.knative.dev/v1/PingSource";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { Job } from "kubernetes-models/batch/v1/Job";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { Role } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import { RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { PersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { parseAllDocuments } from "yaml";
import { repoPath } from "../support/repo-root.ts";

export const KNATIVE_DIR = repoPath("knative");

interface Validatable {
  validate(): void;
}

/** Every kind the folder may hold, by `apiVersion/kind`; anything else is an error. */
const MODELS: Record<string, new (data: never) => Validatable> = {
  "v1/Namespace": Namespace,
  "v1/ServiceAccount": ServiceAccount,
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "batch/v1/Job": Job,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "rbac.authorization.k8s.io/v1/Role": Role,
  "rbac.authorization.k8s.io/v1/RoleBinding": RoleBinding,
  "serving.knative.dev/v1/Service": KnativeService,
  "sources.knative.dev/v1/PingSource": PingSource,
};

/** A parsed manifest; fields are read loosely in tests and checked by the models. */
// biome-ignore lint/suspicious/noExplicitAny: test code walks arbitrary manifests
export type Doc = Record<string, any>;

export interface FileDoc {
  file: string;
  doc: Doc;
}

/** Validates one manifest with its kubernetes-models class; throws for an unknown kind. */
export function validateManifest(doc: Doc): void {
  const key = `${doc.apiVersion}/${doc.kind}`;
  const Model = MODELS[key];
  if (!Model) throw new Error(`unknown kind ${key}: no kubernetes-models class to validate it`);
  new Model(doc as never).validate();
}

/** Every document of a multi-document YAML text; a syntax error throws with the file's name. */
export function parseDocs(text: string, file: string): Doc[] {
  return parseAllDocuments(text).map((d, i) => {
    if (d.errors.length > 0) throw new Error(`${file} document ${i + 1}: ${d.errors[0]?.message}`);
    return d.toJS() as Doc;
  });
}

/** The `.yaml` files of knative/ and their documents, by file name. */
export async function readKnativeFolder(dir = KNATIVE_DIR): Promise<Map<string, Doc[]>> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".yaml")).sort();
  const out = new Map<string, Doc[]>();
  for (const file of files) out.set(file, parseDocs(await readFile(join(dir, file), "utf8"), file));
  return out;
}
