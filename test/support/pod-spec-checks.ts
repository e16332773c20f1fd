/**
 * What the API server's own validation (pkg/apis/core/validation) refuses in a pod template
 * that an OpenAPI schema cannot express: duplicate or dangling names, bad paths, requests
 * above limits. The fake runs these after kubernetes-models' schema check.
 */

export interface Cause {
  reason: "FieldValueInvalid" | "FieldValueDuplicate" | "FieldValueNotFound" | "FieldValueRequired";
  message: string;
  field: string;
}

interface Named {
  name?: unknown;
}

interface Mount extends Named {
  mountPath?: unknown;
}

interface EnvVar extends Named {
  value?: unknown;
}

interface Resources {
  requests?: Record<string, unknown>;
  limits?: Record<string, unknown>;
}

interface Container extends Named {
  env?: EnvVar[];
  volumeMounts?: Mount[];
  resources?: Resources;
}

interface Volume extends Named {
  secret?: { secretName?: unknown; defaultMode?: unknown; items?: Array<{ path?: unknown }> };
  [source: string]: unknown;
}

interface PodSpec {
  restartPolicy?: unknown;
  initContainers?: Container[];
  containers?: Container[];
  volumes?: Volume[];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const QUANTITY = /^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/;
const SCALE: Record<string, number> = {
  "": 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

/** A resource quantity's value, or undefined when it is not one. */
export function quantityValue(quantity: unknown): number | undefined {
  const match = typeof quantity === "string" ? QUANTITY.exec(quantity) : null;
  return match ? Number(match[1]) * SCALE[match[2] ?? ""]! : undefined;
}

function duplicates(values: unknown[]): Set<unknown> {
  const seen = new Set<unknown>();
  const twice = new Set<unknown>();
  for (const value of values) (seen.has(value) ? twice : seen).add(value);
  return twice;
}

function containerCauses(
  container: Container,
  field: string,
  volumes: ReadonlySet<unknown>,
): Cause[] {
  const causes: Cause[] = [];
  for (const [i, variable] of (container.env ?? []).entries()) {
    if (typeof variable.name !== "string" || !ENV_NAME.test(variable.name)) {
      causes.push({
        reason: "FieldValueInvalid",
        message:
          "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.'",
        field: `${field}.env[${i}].name`,
      });
    }
  }
  const mounts = container.volumeMounts ?? [];
  for (const [i, mount] of mounts.entries()) {
    if (!volumes.has(mount.name)) {
      causes.push({
        reason: "FieldValueNotFound",
        message: `volume "${String(mount.name)}" not found`,
        field: `${field}.volumeMounts[${i}].name`,
      });
    }
  }
  for (const path of duplicates(mounts.map((m) => m.mountPath))) {
    causes.push({
      reason: "FieldValueInvalid",
      message: `${String(path)}: must be unique`,
      field: `${field}.volumeMounts.mountPath`,
    });
  }
  const { requests = {}, limits = {} } = container.resources ?? {};
  for (const [resource, request] of Object.entries(requests)) {
    const requested = quantityValue(request);
    const limit = limits[resource] === undefined ? undefined : quantityValue(limits[resource]);
    if (requested === undefined || (limits[resource] !== undefined && limit === undefined)) {
      causes.push({
        reason: "FieldValueInvalid",
        message: "must be a quantity",
        field: `${field}.resources`,
      });
    } else if (limit !== undefined && requested > limit) {
      causes.push({
        reason: "FieldValueInvalid",
        message: `must be less than or equal to ${resource} limit of ${String(limits[resource])}`,
        field: `${field}.resources.requests[${resource}]`,
      });
    }
  }
  return causes;
}

function volumeCauses(volume: Volume, field: string): Cause[] {
  const causes: Cause[] = [];
  if (typeof volume.name !== "string" || !DNS_LABEL.test(volume.name)) {
    causes.push({
      reason: "FieldValueInvalid",
      message: "a lowercase RFC 1123 label is required",
      field: `${field}.name`,
    });
  }
  const sources = Object.keys(volume).filter((k) => k !== "name");
  if (sources.length !== 1) {
    causes.push({
      reason: "FieldValueInvalid",
      message:
        sources.length === 0
          ? "must specify a volume type"
          : "may not specify more than 1 volume type",
      field,
    });
  }
  const secret = volume.secret;
  if (secret) {
    if (typeof secret.secretName !== "string" || secret.secretName === "") {
      causes.push({
        reason: "FieldValueRequired",
        message: "Required value",
        field: `${field}.secret.secretName`,
      });
    }
    const mode = secret.defaultMode;
    if (mode !== undefined && (typeof mode !== "number" || mode < 0 || mode > 0o777)) {
      causes.push({
        reason: "FieldValueInvalid",
        message: "must be a number between 0 and 0777 (octal), both inclusive",
        field: `${field}.secret.defaultMode`,
      });
    }
    for (const [i, item] of (secret.items ?? []).entries()) {
      const path = typeof item.path === "string" ? item.path : "";
      if (path === "" || path.startsWith("/") || path.split("/").includes("..")) {
        causes.push({
          reason: "FieldValueInvalid",
          message: "must be a relative path without '..'",
          field: `${field}.secret.items[${i}].path`,
        });
      }
    }
  }
  return causes;
}

/** Every cause the API server would give for a Job's pod template spec, at `field`. */
export function jobPodSpecCauses(spec: PodSpec, field: string): Cause[] {
  const causes: Cause[] = [];
  const volumes = spec.volumes ?? [];
  for (const [i, volume] of volumes.entries())
    causes.push(...volumeCauses(volume, `${field}.volumes[${i}]`));
  for (const name of duplicates(volumes.map((v) => v.name))) {
    causes.push({
      reason: "FieldValueDuplicate",
      message: `Duplicate value: "${String(name)}"`,
      field: `${field}.volumes`,
    });
  }
  const volumeNames = new Set(volumes.map((v) => v.name));
  const groups = [
    ["initContainers", spec.initContainers ?? []],
    ["containers", spec.containers ?? []],
  ] as const;
  for (const [group, containers] of groups) {
    for (const [i, container] of containers.entries()) {
      const at = `${field}.${group}[${i}]`;
      if (typeof container.name !== "string" || !DNS_LABEL.test(container.name)) {
        causes.push({
          reason: "FieldValueInvalid",
          message: "a lowercase RFC 1123 label is required",
          field: `${at}.name`,
        });
      }
      causes.push(...containerCauses(container, at, volumeNames));
    }
  }
  // Init containers and containers share one name space.
  const names = groups.flatMap(([, containers]) => containers.map((c) => c.name));
  for (const name of duplicates(names)) {
    causes.push({
      reason: "FieldValueDuplicate",
      message: `Duplicate value: "${String(name)}"`,
      field: `${field}.containers`,
    });
  }
  // A Job's pod may not restart in place: the Job controller owns retries.
  if (spec.restartPolicy !== "Never" && spec.restartPolicy !== "OnFailure") {
    causes.push({
      reason: "FieldValueInvalid",
      message: 'supported values: "OnFailure", "Never"',
      field: `${field}.restartPolicy`,
    });
  }
  return causes;
}
