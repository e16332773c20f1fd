import type { IService as IKnativeService } from "@kubernetes-models/knative/serving.knative.dev/v1/Service";
import type { IPingSource } from "@kubernetes-models/knative/sources.knative.dev/v1/PingSource";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import type { IPolicyRule } from "kubernetes-models/rbac.authorization.k8s.io/v1/PolicyRule";
import type { IRole } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import type { IRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IEnvVar } from "kubernetes-models/v1/EnvVar";
import type { INamespace } from "kubernetes-models/v1/Namespace";
import type { IPersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import type { IService as IKubernetesService } from "kubernetes-models/v1/Service";
import type { IServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { stringify } from "yaml";
import { PING_SOURCE_PREFIX, type TargetFile } from "../config/lint-targets.ts";
import type { AutonomyConfig } from "../config/schema.ts";
import { PRIVATE_KEY_FILE_VARIABLE } from "../forge/github/app/github-app-from-env.ts";
import {
  CONTROL_PLANE_TOKEN_SECRET,
  GITHUB_TOKEN_SECRET,
  type SecretKeyRef,
} from "../jobs/build-attempt-job.ts";
import {
  hardenedContainerSecurityContext,
  hardenedPodSecurityContext,
} from "../jobs/kubernetes/job-manifest.ts";
import { attemptNetworkPolicy } from "./attempt-network-policy.ts";
import { autonomyConfigText } from "./autonomy-config-text.ts";
import {
  CONFIG_MOUNT_DIR,
  CONTROL_PLANE_PORT,
  clusterLocalUrl,
  EVENTS_DIR,
  NAMES,
} from "./names.ts";
import { spreadSchedules } from "./spread-schedules.ts";

export type Manifest =
  | INamespace
  | IServiceAccount
  | IRole
  | IRoleBinding
  | INetworkPolicy
  | IPersistentVolumeClaim
  | IConfigMap
  | IDeployment
  | IKubernetesService
  | IKnativeService
  | IPingSource;

/** Where the control plane keeps its events: NDJSON on a volume, or a PostgreSQL database. */
export type StoreKind = "ndjson" | "postgres";

export interface RenderKnativeOptions {
  /** Default `ndjson`: a one-replica Deployment with a volume. */
  store?: StoreKind;
  /** The config file's base name: the ConfigMap's key and the file `LEVIATHAN_CONFIG` names. */
  configName?: string;
  /** The config file's text, so the ConfigMap keeps its comments; else the fields are written out. */
  configText?: string;
  /**
   * A config directory's targets (checked together by `lintTargets`, sorted): the ConfigMap
   * holds every file, each target gets its own PingSource `leviathan-tick-<target>` with data
   * `{"target": …}` and a spread schedule, and `LEVIATHAN_CONFIG` names the first file. The
   * deployment's own settings (namespace, image) come from `config`, which they share.
   */
  targets?: readonly TargetFile[];
}

export const DEFAULT_CONFIG_NAME = "dev.yaml";

const PART_OF = { "app.kubernetes.io/part-of": "leviathan" };
/** Knative: reachable only from inside the cluster (the tick's pings, the tick's requests). */
const CLUSTER_LOCAL = { "networking.knative.dev/visibility": "cluster-local" };
const KNATIVE_SERVICE_REF = { apiVersion: "serving.knative.dev/v1", kind: "Service" } as const;

/**
 * The optional key of the control plane's Secret holding the store checkpoints' own secret;
 * absent or empty, the checkpoints are keyed from the token.
 */
export const STORE_KEY_SECRET_KEY = "LEVIATHAN_STORE_KEY";

/** The Secret holding the PostgreSQL store's postgres:// URL (its password included). */
export const STORE_URL_SECRET: SecretKeyRef = { name: "leviathan-store", key: "url" };

/** The environment of the control plane's container, whichever store it uses. */
function controlPlaneEnv(store: StoreKind): IEnvVar[] {
  return [
    secretEnv("CONTROL_PLANE_TOKEN", CONTROL_PLANE_TOKEN_SECRET),
    // The checkpoints' own secret, if the Secret has one; else the token keys them.
    {
      name: "LEVIATHAN_STORE_KEY",
      valueFrom: {
        secretKeyRef: {
          name: CONTROL_PLANE_TOKEN_SECRET.name,
          key: STORE_KEY_SECRET_KEY,
          optional: true,
        },
      },
    },
    ...(store === "postgres"
      ? [secretEnv("LEVIATHAN_STORE_URL", STORE_URL_SECRET)]
      : [
          { name: "PORT", value: String(CONTROL_PLANE_PORT) },
          { name: "LEVIATHAN_DATA_DIR", value: EVENTS_DIR },
        ]),
  ];
}

/** The GitHub App's private key: mounted into the tick and the worker, never into a Job. */
export const GITHUB_APP_SECRET: SecretKeyRef = {
  name: "leviathan-github-app",
  key: "private-key.pem",
};
const GITHUB_APP_VOLUME = "github-app";
const GITHUB_APP_MOUNT_DIR = "/var/run/secrets/leviathan/github-app";

function githubAppKeyEnv(): IEnvVar {
  return {
    name: PRIVATE_KEY_FILE_VARIABLE,
    value: `${GITHUB_APP_MOUNT_DIR}/${GITHUB_APP_SECRET.key}`,
  };
}

function secretEnv(name: string, ref: SecretKeyRef): IEnvVar {
  return { name, valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } } };
}

function serviceAccount(name: string, needsApiToken: boolean, namespace: string): IServiceAccount {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name, namespace, labels: { ...PART_OF } },
    // Only the tick and the worker talk to the Kubernetes API (Jobs); nobody else gets a token.
    automountServiceAccountToken: needsApiToken,
  };
}

function jobsRule(verbs: string[]): IPolicyRule {
  return { apiGroups: ["batch"], resources: ["jobs"], verbs };
}

/** A namespaced Role with just these rules, bound to the ServiceAccount of the same name. */
function role(name: string, rules: IPolicyRule[], namespace: string): [IRole, IRoleBinding] {
  const metadata = { name, namespace, labels: { ...PART_OF } };
  return [
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata,
      rules,
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { ...metadata, labels: { ...PART_OF } },
      subjects: [{ kind: "ServiceAccount", name, namespace }],
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
    },
  ];
}

function controlPlane(config: AutonomyConfig, namespace: string): IDeployment {
  const labels = { app: NAMES.controlPlane };
  const probe = (periodSeconds: number, failureThreshold: number) => ({
    httpGet: { path: "/healthz", port: "http" },
    periodSeconds,
    failureThreshold,
    timeoutSeconds: 5,
  });
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: NAMES.controlPlane, namespace, labels: { ...labels, ...PART_OF } },
    spec: {
      replicas: 1,
      // One writer per store: the old pod is gone before the new one opens the volume.
      strategy: { type: "Recreate" },
      selector: { matchLabels: labels },
      template: {
        metadata: { labels: { ...labels, ...PART_OF } },
        spec: {
          serviceAccountName: NAMES.controlPlane,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          // fsGroup makes the PVC writable by the image's user; the check is skipped when the
          // volume's root already has the group, so restarts stay fast on a large store.
          securityContext: {
            ...hardenedPodSecurityContext(),
            fsGroupChangePolicy: "OnRootMismatch",
          },
          containers: [
            {
              name: "control-plane",
              image: config.worker_image,
              args: ["leviathan", "control-plane"],
              ports: [{ name: "http", containerPort: CONTROL_PLANE_PORT }],
              env: controlPlaneEnv("ndjson"),
              // /healthz is 503 until the store is recovered: the startup probe gives recovery
              // five minutes before liveness may restart the pod.
              startupProbe: probe(5, 60),
              readinessProbe: probe(10, 3),
              livenessProbe: probe(20, 3),
              resources: {
                requests: { cpu: "100m", memory: "128Mi" },
                limits: { cpu: "1", memory: "512Mi" },
              },
              securityContext: hardenedContainerSecurityContext(),
              volumeMounts: [
                { name: "events", mountPath: EVENTS_DIR },
                { name: "tmp", mountPath: "/tmp" },
              ],
            },
          ],
          volumes: [
            { name: "events", persistentVolumeClaim: { claimName: NAMES.eventsVolume } },
            { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
          ],
        },
      },
    },
  };
}

/**
 * The control plane on the PostgreSQL store: a Knative Service with no volume, any number of
 * replicas (all append to one chain in the database), never scaled to zero so the tick and
 * the attempts always find one. Knative sets PORT to the container port.
 */
function controlPlaneService(config: AutonomyConfig, namespace: string): IKnativeService {
  const probe = (periodSeconds: number, failureThreshold: number) => ({
    httpGet: { path: "/healthz" },
    periodSeconds,
    failureThreshold,
    timeoutSeconds: 5,
  });
  return {
    apiVersion: "serving.knative.dev/v1",
    kind: "Service",
    metadata: {
      name: NAMES.controlPlane,
      namespace,
      labels: { app: NAMES.controlPlane, ...CLUSTER_LOCAL, ...PART_OF },
    },
    spec: {
      template: {
        metadata: {
          labels: { app: NAMES.controlPlane, ...PART_OF },
          annotations: { "autoscaling.knative.dev/min-scale": "1" },
        },
        spec: {
          serviceAccountName: NAMES.controlPlane,
          enableServiceLinks: false,
          containers: [
            {
              name: "control-plane",
              image: config.worker_image,
              args: ["leviathan", "control-plane"],
              ports: [{ name: "http1", containerPort: CONTROL_PLANE_PORT }],
              env: controlPlaneEnv("postgres"),
              // /healthz is 503 until the store's records are loaded into the query state.
              readinessProbe: probe(5, 3),
              livenessProbe: { ...probe(20, 3), initialDelaySeconds: 60 },
              resources: {
                requests: { cpu: "100m", memory: "128Mi" },
                limits: { cpu: "1", memory: "512Mi" },
              },
              securityContext: hardenedContainerSecurityContext(),
              volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
            },
          ],
          volumes: [{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }],
        },
      },
    },
  };
}

function eventsVolume(namespace: string): IPersistentVolumeClaim {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: NAMES.eventsVolume, namespace, labels: { ...PART_OF } },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "5Gi" } } },
  };
}

/** The one writer of an NDJSON volume (a Deployment and its Service), or the Knative Service. */
function controlPlaneManifests(
  config: AutonomyConfig,
  namespace: string,
  store: StoreKind,
): Manifest[] {
  if (store === "postgres") return [controlPlaneService(config, namespace)];
  return [
    controlPlane(config, namespace),
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        name: NAMES.controlPlane,
        namespace,
        labels: { app: NAMES.controlPlane, ...PART_OF },
      },
      spec: {
        selector: { app: NAMES.controlPlane },
        ports: [{ name: "http", port: CONTROL_PLANE_PORT, targetPort: "http" }],
      },
    },
  ];
}

interface FunctionService {
  name: string;
  target: "tick" | "worker";
  env: IEnvVar[];
  /** With a GitHub App: its private key, mounted as a file (the tick and the worker only). */
  githubAppKey?: boolean;
  annotations?: Record<string, string>;
  containerConcurrency?: number;
}

function knativeService(
  config: AutonomyConfig,
  namespace: string,
  configName: string,
  fn: FunctionService,
): IKnativeService {
  return {
    apiVersion: "serving.knative.dev/v1",
    kind: "Service",
    metadata: { name: fn.name, namespace, labels: { ...CLUSTER_LOCAL, ...PART_OF } },
    spec: {
      template: {
        metadata: {
          labels: { ...PART_OF },
          ...(fn.annotations && { annotations: fn.annotations }),
        },
        spec: {
          serviceAccountName: fn.name,
          enableServiceLinks: false,
          ...(fn.containerConcurrency !== undefined && {
            containerConcurrency: fn.containerConcurrency,
          }),
          containers: [
            {
              name: fn.target,
              image: config.worker_image,
              // No args: the image's entry point serves $FUNCTION_TARGET on $PORT (8080).
              ports: [{ name: "http1", containerPort: 8080 }],
              env: [
                { name: "FUNCTION_TARGET", value: fn.target },
                { name: "LEVIATHAN_CONFIG", value: `${CONFIG_MOUNT_DIR}/${configName}` },
                { name: "LEVIATHAN_JOB_RUNNER", value: "kubernetes" },
                ...fn.env,
              ],
              readinessProbe: { httpGet: { path: "/health" }, periodSeconds: 10 },
              resources: {
                requests: { cpu: "100m", memory: "128Mi" },
                limits: { cpu: "1", memory: "512Mi" },
              },
              // Knative admits container-level hardening by default; a pod-level
              // securityContext needs a feature flag, so everything sits here.
              securityContext: hardenedContainerSecurityContext(),
              volumeMounts: [
                { name: "autonomy-config", mountPath: CONFIG_MOUNT_DIR, readOnly: true },
                { name: "tmp", mountPath: "/tmp" },
                ...(fn.githubAppKey
                  ? [{ name: GITHUB_APP_VOLUME, mountPath: GITHUB_APP_MOUNT_DIR, readOnly: true }]
                  : []),
              ],
            },
          ],
          volumes: [
            // The whole folder (no subPath), so edits and added `<target>.yaml` files arrive
            // without a restart.
            { name: "autonomy-config", configMap: { name: NAMES.autonomyConfig } },
            { name: "tmp", emptyDir: {} },
            ...(fn.githubAppKey
              ? [
                  {
                    name: GITHUB_APP_VOLUME,
                    secret: {
                      secretName: GITHUB_APP_SECRET.name,
                      items: [{ key: GITHUB_APP_SECRET.key, path: GITHUB_APP_SECRET.key }],
                      // Knative sets no fsGroup by default: the image's user reads it as "other".
                      // The container holds nothing else; no Job ever mounts this Secret.
                      defaultMode: 0o444,
                    },
                  },
                ]
              : []),
          ],
        },
      },
    },
  };
}

/**
 * Every manifest of the deployment, in the order they can be applied: namespace, identities
 * and their rights, the attempts' network, storage and config, the control plane, the two
 * functions, the schedule. Everything lives in the config's `worker_namespace`, where the
 * worker creates the Jobs.
 */
export function renderKnative(
  config: AutonomyConfig,
  options: RenderKnativeOptions = {},
): Manifest[] {
  const namespace = config.worker_namespace;
  const targets = options.targets?.length ? options.targets : undefined;
  const configName = targets ? targets[0]!.name : (options.configName ?? DEFAULT_CONFIG_NAME);
  const workerUrl = clusterLocalUrl(NAMES.worker, namespace);
  const store = options.store ?? "ndjson";
  const app = config.github_app_id !== undefined;
  const addresses = {
    workerUrl,
    // The Knative Service answers on port 80 of its cluster-local name.
    ...(store === "postgres"
      ? { controlPlaneUrl: clusterLocalUrl(NAMES.controlPlane, namespace) }
      : {}),
  };
  const configData = targets
    ? Object.fromEntries(
        targets.map(
          (t) =>
            [t.name, autonomyConfigText(t.config, { ...addresses, sourceText: t.text })] as const,
        ),
      )
    : {
        [configName]: autonomyConfigText(config, {
          ...addresses,
          ...(options.configText !== undefined ? { sourceText: options.configText } : {}),
        }),
      };
  return [
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: namespace,
        labels: {
          ...PART_OF,
          // Every pod here is written to the restricted profile; enforcing only baseline keeps
          // Knative's own sidecar (its hardening varies by version) from being refused.
          "pod-security.kubernetes.io/enforce": "baseline",
          "pod-security.kubernetes.io/warn": "restricted",
          "pod-security.kubernetes.io/audit": "restricted",
        },
      },
    },
    serviceAccount(NAMES.worker, true, namespace),
    serviceAccount(NAMES.tick, true, namespace),
    serviceAccount(NAMES.controlPlane, false, namespace),
    // The worker creates each attempt's Job and the Secret `<job>-token` beside it. RBAC cannot
    // narrow `create` to names, so it can create and read any Secret of the namespace.
    ...role(
      NAMES.worker,
      [
        jobsRule(["create", "get", "list", "watch", "delete"]),
        { apiGroups: [""], resources: ["secrets"], verbs: ["create", "get", "delete"] },
      ],
      namespace,
    ),
    ...role(NAMES.tick, [jobsRule(["get", "list"])], namespace),
    attemptNetworkPolicy(namespace, PART_OF, store),
    ...(store === "ndjson" ? [eventsVolume(namespace)] : []),
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: NAMES.autonomyConfig, namespace, labels: { ...PART_OF } },
      data: configData,
    },
    ...controlPlaneManifests(config, namespace, store),
    knativeService(config, namespace, configName, {
      name: NAMES.tick,
      target: "tick",
      // With a GitHub App the tick mints read-only tokens from its key; else the personal token.
      env: [
        app ? githubAppKeyEnv() : secretEnv("GITHUB_TOKEN", GITHUB_TOKEN_SECRET),
        secretEnv("CONTROL_PLANE_TOKEN", CONTROL_PLANE_TOKEN_SECRET),
      ],
      githubAppKey: app,
      // One tick at a time: a tick is short and its decision should see the previous one's.
      annotations: { "autoscaling.knative.dev/max-scale": "1" },
      containerConcurrency: 1,
    }),
    knativeService(config, namespace, configName, {
      name: NAMES.worker,
      target: "worker",
      // The worker puts Secret references, never values, into the Jobs, and into each Job's own
      // Secret an attempt token derived from its CONTROL_PLANE_TOKEN (with a GitHub App, also a
      // token it mints for that attempt from the App's key): it needs no GitHub token.
      env: [
        secretEnv("CONTROL_PLANE_TOKEN", CONTROL_PLANE_TOKEN_SECRET),
        ...(app ? [githubAppKeyEnv()] : []),
      ],
      githubAppKey: app,
    }),
    ...(targets
      ? targetPingSources(targets, namespace)
      : [
          {
            apiVersion: "sources.knative.dev/v1",
            kind: "PingSource",
            metadata: { name: NAMES.tick, namespace, labels: { ...PART_OF } },
            spec: {
              schedule: config.schedule_cron,
              sink: { ref: { ...KNATIVE_SERVICE_REF, name: NAMES.tick } },
            },
          } satisfies IPingSource,
        ]),
  ];
}

/** One PingSource per target, its data naming the target, its schedule spread. */
function targetPingSources(targets: readonly TargetFile[], namespace: string): IPingSource[] {
  const schedules = spreadSchedules(
    targets.map((t) => ({ target: t.target, cron: t.config.schedule_cron })),
  );
  return schedules.map(({ target, schedule }) => ({
    apiVersion: "sources.knative.dev/v1",
    kind: "PingSource",
    metadata: {
      name: `${PING_SOURCE_PREFIX}${target}`,
      namespace,
      labels: { ...PART_OF, "leviathan.dev/target": target },
    },
    spec: {
      schedule,
      contentType: "application/json",
      data: JSON.stringify({ target }),
      sink: { ref: { ...KNATIVE_SERVICE_REF, name: NAMES.tick } },
    },
  }));
}

/** YAML of one or more manifests as one multi-document stream. */
export function toYamlDocuments(manifests: readonly object[]): string {
  return manifests.map((m) => stringify(m, { lineWidth: 0 })).join("---\n");
}

/** `leviathan render knative`: every manifest, as one multi-document YAML stream. */
export function renderKnativeYaml(
  config: AutonomyConfig,
  options: RenderKnativeOptions = {},
): string {
  return toYamlDocuments(renderKnative(config, options));
}
