import type { ContainerSpec, EnvVarSpec, ManifestObject, PodSpec } from "./read-manifests.ts";
import {
  DOCKERFILE,
  type EntryPoint,
  MANIFESTS,
  type PlannedEnv,
  ReplayError,
  type Stage,
} from "./replay-types.ts";

/** No cluster to create Jobs in: the worker runs attempts as child processes instead. */
const NO_CLUSTER_ENV: Record<string, Record<string, string>> = {
  worker: { LEVIATHAN_JOB_RUNNER: "process" },
};

/**
 * Every container of every workload in the kustomization, started as Kubernetes would start it
 * from this image: `command` replaces ENTRYPOINT, `args` replaces CMD.
 */
export function planEntryPoints(image: Stage, manifests: readonly ManifestObject[]): EntryPoint[] {
  const configMaps = new Map(
    manifests
      .filter((o) => o.kind === "ConfigMap")
      .map((o) => [o.metadata?.name ?? "", o.data ?? {}]),
  );
  const entryPoints: EntryPoint[] = [];
  for (const object of manifests) {
    if (!["Service", "Deployment"].includes(object.kind ?? "")) continue;
    const pod = object.spec?.template?.spec;
    if (!pod) continue;
    for (const container of pod.containers ?? []) {
      const at = `${object.kind} ${object.metadata?.name}, container ${container.name}`;
      entryPoints.push(
        planContainer(`${object.kind}/${object.metadata?.name}`, pod, container, {
          image,
          configMaps,
          at,
        }),
      );
    }
  }
  if (entryPoints.length === 0) throw new ReplayError(`${MANIFESTS}/: no containers to start`);
  return entryPoints;
}

function planContainer(
  workload: string,
  pod: PodSpec,
  container: ContainerSpec,
  context: { image: Stage; configMaps: Map<string, Record<string, string>>; at: string },
): EntryPoint {
  const { image, configMaps, at } = context;
  const probe = container.readinessProbe?.httpGet?.path;
  if (!probe) throw new ReplayError(`${at}: no readinessProbe.httpGet.path to ask`);
  // A command without args drops the image's CMD as well, as Kubernetes does.
  const args = container.args ?? (container.command ? [] : (image.cmd ?? []));
  const argv = [...(container.command ?? image.entrypoint ?? []), ...args];
  if (argv.length === 0) throw new ReplayError(`${at}: nothing to run`);
  for (const { containerPort } of container.ports ?? []) {
    if (!image.expose.includes(containerPort)) {
      throw new ReplayError(`${at}: port ${containerPort} is not EXPOSEd by ${DOCKERFILE}`);
    }
  }
  const user = {
    uid: container.securityContext?.runAsUser ?? pod.securityContext?.runAsUser ?? image.user?.uid,
    gid:
      container.securityContext?.runAsGroup ?? pod.securityContext?.runAsGroup ?? image.user?.gid,
  };
  return {
    name: container.name,
    workload,
    argv,
    env: (container.env ?? []).map((variable) => planEnv(variable, configMaps, at)),
    overrides: NO_CLUSTER_ENV[container.name] ?? {},
    mounts: (container.volumeMounts ?? []).map((mount) => {
      const volume = pod.volumes?.find((v) => v.name === mount.name);
      if (!volume) throw new ReplayError(`${at}: no volume ${mount.name}`);
      const data = volume.configMap ? configMaps.get(volume.configMap.name) : undefined;
      if (volume.configMap && !data) {
        throw new ReplayError(`${at}: no ConfigMap ${volume.configMap.name}`);
      }
      return { path: mount.mountPath, files: data ?? {} };
    }),
    probe,
    user,
  };
}

function planEnv(
  variable: EnvVarSpec,
  configMaps: Map<string, Record<string, string>>,
  at: string,
): PlannedEnv {
  if (variable.value !== undefined) return { name: variable.name, value: String(variable.value) };
  const secret = variable.valueFrom?.secretKeyRef;
  if (secret) return { name: variable.name, secret: `${secret.name}/${secret.key}` };
  const ref = variable.valueFrom?.configMapKeyRef;
  const value = ref ? configMaps.get(ref.name)?.[ref.key] : undefined;
  if (value === undefined) throw new ReplayError(`${at}: cannot resolve env ${variable.name}`);
  return { name: variable.name, value };
}
