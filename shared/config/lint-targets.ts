import { TARGET_NAME_PATTERN } from "../events/schema.ts";
import { ConfigError, parseConfig } from "./load-config.ts";
import { type AutonomyConfig, parseRepoUrl } from "./schema.ts";
import { lineOf, parseYamlWithLines } from "./yaml-location.ts";

/** One file of a config directory as read: its base name and text. */
export interface TargetFileText {
  /** Base name, e.g. `radix.yaml`. */
  name: string;
  text: string;
}

/** A file that passed every check: its target, the config and the text it came from. */
export interface TargetFile {
  target: string;
  name: string;
  text: string;
  config: AutonomyConfig;
}

/** One finding: `file:line: message` when the line is known. */
export interface TargetProblem {
  file: string;
  line?: number;
  message: string;
}

export interface TargetsLint {
  /** Every valid file, sorted by target name. */
  targets: TargetFile[];
  /** Sorted by file, then line. */
  problems: TargetProblem[];
}

/**
 * Fields one deployment has once, for every target: one control plane, one namespace (its
 * Roles, its Jobs), one image for the services and the Jobs.
 */
export const SHARED_FIELDS = ["control_plane_url", "worker_namespace", "worker_image"] as const;

/** The PingSource of a target is `leviathan-tick-<target>`: a Kubernetes name, at most 63. */
export const PING_SOURCE_PREFIX = "leviathan-tick-";
export const MAX_TARGET_NAME = 63 - PING_SOURCE_PREFIX.length;

export function formatProblem(problem: TargetProblem): string {
  return `${problem.file}${problem.line ? `:${problem.line}` : ""}: ${problem.message}`;
}

/**
 * The files of a config directory checked together: each is `<target>.yaml` with
 * `target_id: <target>` and a valid config; no two name the same repository; and the fields a
 * deployment has once (`SHARED_FIELDS`) agree. `dir` prefixes the file names in findings.
 */
export function lintTargets(files: readonly TargetFileText[], dir: string): TargetsLint {
  const problems: TargetProblem[] = [];
  const targets: TargetFile[] = [];
  const at = (name: string) => (dir ? `${dir.replace(/\/+$/, "")}/${name}` : name);
  const lines = new Map<string, ReturnType<typeof parseYamlWithLines>>();
  const lineIn = (file: TargetFile, field: string) => {
    let parsed = lines.get(file.name);
    if (!parsed) {
      parsed = parseYamlWithLines(file.text);
      lines.set(file.name, parsed);
    }
    return lineOf(parsed, [field]);
  };

  for (const file of [...files].sort((a, b) => byCodePoint(a.name, b.name))) {
    const path = at(file.name);
    if (!file.name.endsWith(".yaml")) {
      problems.push({
        file: path,
        message: "not read: a target's file is <target>.yaml (the tick never reads this one)",
      });
      continue;
    }
    const target = file.name.slice(0, -".yaml".length);
    if (!TARGET_NAME_PATTERN.test(target) || target.length > MAX_TARGET_NAME) {
      problems.push({
        file: path,
        message: `the file name must be <target>.yaml with a target matching [a-z0-9][a-z0-9-]* (at most ${MAX_TARGET_NAME} characters, so ${PING_SOURCE_PREFIX}<target> is a Kubernetes name)`,
      });
      continue;
    }
    let config: AutonomyConfig;
    try {
      config = parseConfig(file.text, path);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems.map((problem) => configProblem(path, problem)));
      continue;
    }
    const checked: TargetFile = { target, name: file.name, text: file.text, config };
    if (config.target_id !== target) {
      problems.push({
        file: path,
        ...lineOrNothing(lineIn(checked, "target_id")),
        message: `target_id is ${config.target_id}, but the file is named for ${target}: a ping for ${target} would read it`,
      });
      continue;
    }
    targets.push(checked);
  }

  const repositories = new Map<string, TargetFile>();
  for (const file of targets) {
    const key = repositoryKey(file.config.target_repo_url);
    const first = repositories.get(key);
    if (!first) {
      repositories.set(key, file);
      continue;
    }
    problems.push({
      file: at(file.name),
      ...lineOrNothing(lineIn(file, "target_repo_url")),
      message: `target_repo_url names the same repository as ${at(first.name)}:${lineIn(first, "target_repo_url") ?? "?"} (two targets would race on one repository's PRs)`,
    });
  }

  const reference = targets[0];
  if (reference) {
    for (const field of SHARED_FIELDS) {
      for (const file of targets.slice(1)) {
        if (file.config[field] === reference.config[field]) continue;
        problems.push({
          file: at(file.name),
          ...lineOrNothing(lineIn(file, field)),
          message: `${field} is ${JSON.stringify(file.config[field])}, but ${at(reference.name)}:${lineIn(reference, field) ?? "?"} has ${JSON.stringify(reference.config[field])}: every target of one deployment shares it`,
        });
      }
    }
  }
  if (files.length === 0) problems.push({ file: at(""), message: "holds no <target>.yaml file" });

  problems.sort((a, b) => byCodePoint(a.file, b.file) || (a.line ?? 0) - (b.line ?? 0));
  return { targets: targets.sort((a, b) => byCodePoint(a.target, b.target)), problems };
}

/** `field (line N): message` from `parseConfig` as `file:N: field: message`. */
function configProblem(file: string, problem: string): TargetProblem {
  const match = /^(.*?) \(line (\d+)\): (.*)$/s.exec(problem);
  if (match) return { file, line: Number(match[2]), message: `${match[1]}: ${match[3]}` };
  const yaml = /^line (\d+): (.*)$/s.exec(problem);
  if (yaml) return { file, line: Number(yaml[1]), message: yaml[2]! };
  return { file, message: problem };
}

/** Host, owner and repository, case-insensitively, as GitHub compares them. */
function repositoryKey(url: string): string {
  const parsed = parseRepoUrl(url);
  if ("error" in parsed) return url;
  return `${parsed.host}/${parsed.owner}/${parsed.repo}`.toLowerCase();
}

/** The same order on every machine, whatever its locale. */
function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function lineOrNothing(line: number | undefined): { line?: number } {
  return line === undefined ? {} : { line };
}
