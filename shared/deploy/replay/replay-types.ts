/** Where the replay reads its inputs, relative to the repository. */
export const DOCKERFILE = "ops/Dockerfile";
export const MANIFESTS = "knative";
/** The file to change when the replay meets something it does not know. */
export const TEACH = "shared/deploy/replay/";

/** Something the replay cannot follow, or a check that failed; its message is the report's. */
export class ReplayError extends Error {
  override readonly name = "ReplayError";
}

export interface Instruction {
  /** 1-based, the instruction's first line. */
  line: number;
  keyword: string;
  value: string;
}

export type StepAction =
  | { action: "mkdir"; path: string }
  | {
      action: "copy";
      /** A stage's name, or undefined for the build context. */
      from: string | undefined;
      sources: CopySource[];
      dest: string;
      /** Copied into `dest` (a folder) rather than as `dest`. */
      into: boolean;
    }
  | { action: "run"; commands: string[][] }
  | { action: "skip"; reason: string; packages: string[] };

export interface CopySource {
  path: string;
  /** The context's files under `path` (context copies only). */
  files?: string[];
  directory?: boolean;
}

export type Step = { line: number; instruction: string } & StepAction;

export interface Stage {
  name: string;
  image: string;
  workdir: string;
  env: Record<string, string>;
  user: { uid: number; gid: number } | undefined;
  expose: number[];
  entrypoint: string[] | undefined;
  cmd: string[] | undefined;
  steps: Step[];
}

export type PlannedEnv = { name: string; value: string } | { name: string; secret: string };

/** One container of the manifests, as Kubernetes would start it from the image. */
export interface EntryPoint {
  name: string;
  workload: string;
  argv: string[];
  env: PlannedEnv[];
  /** What differs here because there is no cluster. */
  overrides: Record<string, string>;
  mounts: { path: string; files: Record<string, string> }[];
  /** readinessProbe.httpGet.path */
  probe: string;
  user: { uid: number | undefined; gid: number | undefined };
}

export interface ReplayPlan {
  stages: Stage[];
  entryPoints: EntryPoint[];
}

export interface StepReport {
  stage: string;
  line: number;
  instruction: string;
  action: Step["action"];
  commands?: string[];
  reason?: string;
  seconds: number;
}

export interface EntryPointReport {
  name: string;
  workload: string;
  argv: string[];
  ran: string[];
  user: { uid: number; gid: number } | null;
  health: { path: string; status: number; body: unknown };
  listens_on_all_interfaces: boolean | null;
  exit_code: number | null;
  signal?: string;
}

/** What `--json` prints. */
export interface ReplayReport {
  ok: boolean;
  commit: string;
  context_files: string[];
  steps: StepReport[];
  entry_points: EntryPointReport[];
  notes: string[];
  plan?: ReplayPlan;
  workdir?: string;
  error?: string;
  seconds?: number;
}
