import type { Cause } from "./pod-spec-checks.ts";

/** What the API server's validation refuses in a Secret beyond its schema. */

const KEY = /^[-._a-zA-Z0-9]+$/;
const MAX_SIZE = 1024 * 1024;

interface OwnerReference {
  controller?: unknown;
}

interface SecretBody {
  data?: Record<string, unknown>;
  stringData?: Record<string, unknown>;
  metadata?: { ownerReferences?: OwnerReference[] };
}

export function secretCauses(secret: SecretBody): Cause[] {
  const causes: Cause[] = [];
  let size = 0;
  for (const [field, values] of [
    ["data", secret.data ?? {}],
    ["stringData", secret.stringData ?? {}],
  ] as const) {
    for (const [key, value] of Object.entries(values)) {
      if (!KEY.test(key)) {
        causes.push({
          reason: "FieldValueInvalid",
          message: "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
          field: `${field}[${key}]`,
        });
      }
      if (typeof value === "string") {
        size += field === "data" ? Buffer.from(value, "base64").length : Buffer.byteLength(value);
      }
    }
  }
  if (size > MAX_SIZE) {
    causes.push({
      reason: "FieldValueInvalid",
      message: "Too long: must have at most 1048576 bytes",
      field: "data",
    });
  }
  const controllers = (secret.metadata?.ownerReferences ?? []).filter((r) => r.controller === true);
  if (controllers.length > 1) {
    causes.push({
      reason: "FieldValueInvalid",
      message: "Only one reference can have Controller set to true",
      field: "metadata.ownerReferences",
    });
  }
  return causes;
}

/** `stringData` is write-only: the API server merges it into `data`, base64-encoded. */
export function mergeStringData(secret: Record<string, unknown>): void {
  const stringData = (secret.stringData ?? {}) as Record<string, string>;
  const data = { ...((secret.data ?? {}) as Record<string, string>) };
  for (const [key, value] of Object.entries(stringData)) {
    data[key] = Buffer.from(value, "utf8").toString("base64");
  }
  delete secret.stringData;
  if (Object.keys(data).length > 0) secret.data = data;
  secret.type ??= "Opaque";
}
