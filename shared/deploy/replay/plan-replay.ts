import { posix } from "node:path";
import { parseDockerfile } from "./parse-dockerfile.ts";
import { planEntryPoints } from "./plan-entry-points.ts";
import type { ManifestObject } from "./read-manifests.ts";
import {
  DOCKERFILE,
  ReplayError,
  type ReplayPlan,
  type Stage,
  type StepAction,
  TEACH,
} from "./replay-types.ts";

/** Commands that change the base image's operating system: an image build's business, not ours. */
const SYSTEM_COMMANDS = new Map([
  ["apt-get", "installs OS packages into the base image"],
  ["groupadd", "creates the image's group"],
  ["useradd", "creates the image's user"],
]);
/** Commands replayed as written (absolute paths mapped into the stage's root). */
const REPLAYED_COMMANDS = new Set(["npm", "npx", "node", "chmod", "ln", "mkdir"]);
/** Anything a shell would interpret: the replay runs commands without one, so it refuses these. */
const SHELL_SYNTAX = /['"`$;|<>(){}*?[\]~\\]/;

export interface PlanInput {
  dockerfile: string;
  /** The build context: committed files .dockerignore lets through. */
  contextFiles: readonly string[];
  manifests: readonly ManifestObject[];
}

/**
 * What each instruction does here, decided before anything runs: replayed, or skipped for a
 * stated reason. Anything it does not know how to replay throws with the file's line.
 */
export function planReplay(input: PlanInput): ReplayPlan {
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  let stage: Stage | undefined;
  for (const { keyword, value, line } of parseDockerfile(input.dockerfile)) {
    const at = `${DOCKERFILE}:${line}`;
    if (keyword === "ARG") {
      const [name = "", fallback = ""] = value.split("=");
      if (!stage) args.set(name, fallback);
      continue;
    }
    if (keyword === "FROM") {
      const [image, as, name] = value
        .replace(/\$\{(\w+)\}/g, (_, v: string) => args.get(v) ?? "")
        .split(/\s+/);
      checkBaseImage(image, at);
      stage = {
        name: as?.toUpperCase() === "AS" && name ? name : String(stages.length),
        image: image!,
        workdir: "/",
        env: {},
        user: undefined,
        expose: [],
        entrypoint: undefined,
        cmd: undefined,
        steps: [],
      };
      stages.push(stage);
      continue;
    }
    if (!stage) throw new ReplayError(`${at}: ${keyword} before FROM`);
    // RUN is checked command by command; ENTRYPOINT and CMD are JSON.
    if (!["RUN", "ENTRYPOINT", "CMD"].includes(keyword) && /["'$]/.test(value)) {
      throw new ReplayError(`${at}: quotes and variables in ${keyword} are not replayed`);
    }
    const step = { line, instruction: `${keyword} ${value}` };
    if (keyword === "WORKDIR") {
      stage.workdir = posix.resolve(stage.workdir, value);
      stage.steps.push({ ...step, action: "mkdir", path: stage.workdir });
    } else if (keyword === "COPY") {
      stage.steps.push({ ...step, ...planCopy(value, stage, stages, input.contextFiles, at) });
    } else if (keyword === "RUN") {
      stage.steps.push({ ...step, ...planRun(value, at) });
    } else if (keyword === "ENV") {
      for (const pair of value.split(/\s+/)) {
        const eq = pair.indexOf("=");
        if (eq < 1) throw new ReplayError(`${at}: ENV is replayed only as KEY=value pairs`);
        stage.env[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
    } else if (keyword === "USER") {
      const [uid = Number.NaN, gid = uid] = value.split(":").map(Number);
      stage.user = { uid, gid };
    } else if (keyword === "EXPOSE") {
      stage.expose.push(...value.split(/\s+/).map((port) => Number.parseInt(port, 10)));
    } else if (keyword === "ENTRYPOINT" || keyword === "CMD") {
      const argv = execForm(value, at);
      if (keyword === "ENTRYPOINT") stage.entrypoint = argv;
      else stage.cmd = argv;
    } else {
      throw new ReplayError(`${at}: ${keyword} is not replayed; teach ${TEACH}plan-replay.ts`);
    }
  }
  const image = stages.at(-1);
  if (!image) throw new ReplayError(`${DOCKERFILE}: no FROM`);
  return { stages, entryPoints: planEntryPoints(image, input.manifests) };
}

/** Only `node:<major>` of this machine's major: the replay runs with this Node. */
function checkBaseImage(image: string | undefined, at: string): void {
  const major = /^node:(\d+)/.exec(image ?? "")?.[1];
  if (!major) throw new ReplayError(`${at}: the replay knows only node:<major> base images`);
  const ours = process.versions.node.split(".")[0];
  if (major !== ours) {
    throw new ReplayError(`${at}: the image runs Node ${major}, this machine Node ${ours}`);
  }
}

function execForm(value: string, at: string): string[] {
  try {
    const argv: unknown = JSON.parse(value);
    if (Array.isArray(argv) && argv.every((a) => typeof a === "string")) return argv;
  } catch {
    // Not JSON: the shell form, refused below.
  }
  throw new ReplayError(`${at}: only the exec (JSON) form is replayed`);
}

function planCopy(
  value: string,
  stage: Stage,
  stages: readonly Stage[],
  contextFiles: readonly string[],
  at: string,
): StepAction {
  const words = value.split(/\s+/);
  let from: string | undefined;
  while (words[0]?.startsWith("--")) {
    const flag = words.shift()!;
    if (!flag.startsWith("--from=")) throw new ReplayError(`${at}: COPY ${flag} is not replayed`);
    from = flag.slice("--from=".length);
    if (!stages.some((s) => s.name === from)) throw new ReplayError(`${at}: no stage ${from}`);
  }
  const dest = words.pop();
  if (!dest || words.length === 0) {
    throw new ReplayError(`${at}: COPY needs a source and a destination`);
  }
  const sources = words.map((source) => {
    if (/[*?[]/.test(source)) throw new ReplayError(`${at}: COPY wildcards are not replayed`);
    if (from !== undefined) return { path: source };
    const path = posix.normalize(source).replace(/^\.(?:\/|$)|\/$/g, "");
    const files = contextFiles.filter(
      (file) => path === "" || file === path || file.startsWith(`${path}/`),
    );
    if (files.length === 0) {
      throw new ReplayError(
        `${at}: ${source} is not in the build context (not committed, or excluded by .dockerignore)`,
      );
    }
    return { path, files, directory: !files.includes(path) };
  });
  return {
    action: "copy",
    from,
    sources,
    dest: posix.resolve(stage.workdir, dest),
    into: dest.endsWith("/") || sources.length > 1,
  };
}

function planRun(value: string, at: string): StepAction {
  if (value.startsWith("[")) throw new ReplayError(`${at}: RUN in exec form is not replayed`);
  const commands = value.split(/\s*&&\s*/).map((command) => command.split(/\s+/));
  const system = commands.filter(([program]) => SYSTEM_COMMANDS.has(program ?? ""));
  if (system.length > 0) {
    for (const command of commands) {
      const aptCleanup =
        command[0] === "rm" && command.slice(2).every((p) => p.startsWith("/var/lib/apt/"));
      if (!SYSTEM_COMMANDS.has(command[0] ?? "") && !aptCleanup) {
        throw new ReplayError(
          `${at}: \`${command.join(" ")}\` shares a RUN with OS set-up the replay skips; give it its own RUN`,
        );
      }
    }
    const packages = commands
      .filter(([program, verb]) => program === "apt-get" && verb === "install")
      .flatMap((command) => command.slice(2).filter((word) => !word.startsWith("-")));
    const reasons = [...new Set(system.map(([program]) => SYSTEM_COMMANDS.get(program ?? "")))];
    return {
      action: "skip",
      reason: `${reasons.join("; ")}${packages.length ? ` (${packages.join(", ")})` : ""}: no base image here`,
      packages,
    };
  }
  for (const command of commands) {
    const [program = ""] = command;
    if (!REPLAYED_COMMANDS.has(program)) {
      throw new ReplayError(
        `${at}: the replay does not know \`${program}\`; teach ${TEACH}plan-replay.ts`,
      );
    }
    if (command.some((word) => SHELL_SYNTAX.test(word))) {
      throw new ReplayError(
        `${at}: \`${command.join(" ")}\` needs a shell; the replay runs commands without one`,
      );
    }
    // The npm cache makes the install fast and keeps it off the network where it can.
    if (program === "npm" && command[1] === "ci" && !command.includes("--prefer-offline")) {
      command.push("--prefer-offline");
    }
  }
  return { action: "run", commands };
}
