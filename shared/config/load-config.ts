import { readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { formatPath, TARGET_NAME_PATTERN } from "../events/schema.ts";
import { type AutonomyConfig, autonomyConfigSchema } from "./schema.ts";
import { lineOf, parseYamlWithLines } from "./yaml-location.ts";

export const DEFAULT_CONFIG_PATH = "ops/autonomy/dev.yaml";
export const LOCAL_CONFIG_PATH = "ops/autonomy/local.yaml";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    readonly file: string,
    readonly problems: string[],
    readonly notFound = false,
  ) {
    super(`${file}: invalid configuration\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

export interface LoadedConfig {
  config: AutonomyConfig;
  /** The file it came from, as given. */
  path: string;
  /** Its base name (`dev.yaml`), carried in attempt requests so the worker reads the same one. */
  name: string;
}

/** Parses and validates config text; every problem names the field and its line. */
export function parseConfig(text: string, file: string): AutonomyConfig {
  const parsed = parseYamlWithLines(text);
  if (parsed.doc.errors.length > 0) {
    throw new ConfigError(
      file,
      parsed.doc.errors.map(
        (e) => `line ${parsed.lineCounter.linePos(e.pos[0]).line}: ${e.message.split("\n")[0]}`,
      ),
    );
  }
  const data = parsed.doc.toJS() as unknown;
  const result = autonomyConfigSchema.safeParse(data ?? {});
  if (result.success) return result.data;
  throw new ConfigError(
    file,
    result.error.issues.map((issue) => {
      const path =
        issue.code === "unrecognized_keys" ? issue.keys.join(", ") : formatPath(issue.path);
      const line = lineOf(
        parsed,
        issue.code === "unrecognized_keys" ? [issue.keys[0]!] : issue.path,
      );
      const message = issue.code === "unrecognized_keys" ? "unknown field" : issue.message;
      return `${path || "(file)"}${line ? ` (line ${line})` : ""}: ${message}`;
    }),
  );
}

export async function loadConfig(path: string): Promise<LoadedConfig> {
  return { config: parseConfig(await readConfigText(path), path), path, name: basename(path) };
}

export interface ConfigCache {
  /** `loadConfig`, with the parse of a text already seen at this path kept. */
  load(path: string): Promise<LoadedConfig>;
  readonly stats: { hits: number; parses: number };
}

/**
 * `loadConfig` for a process that loads the same files over and over (the tick: every ping of
 * every target). Each file is still read every time, so an edited or replaced config counts at
 * once; only a text already parsed is not parsed and validated again. Every load gets its own
 * copy, so no caller can change what the next one sees. One entry per valid file ever loaded.
 */
export function createConfigCache(): ConfigCache {
  const parsed = new Map<string, { text: string; config: AutonomyConfig }>();
  const stats = { hits: 0, parses: 0 };
  return {
    async load(path) {
      const text = await readConfigText(path);
      let known = parsed.get(path);
      if (known?.text === text) stats.hits++;
      else {
        stats.parses++;
        known = { text, config: parseConfig(text, path) };
        parsed.set(path, known);
      }
      return { config: structuredClone(known.config), path, name: basename(path) };
    },
    stats,
  };
}

async function readConfigText(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(
      path,
      [code === "ENOENT" ? "file not found" : `cannot read: ${code}`],
      code === "ENOENT",
    );
  }
}

/** `LEVIATHAN_CONFIG`, else the default for the command. */
export function configPathFrom(env: NodeJS.ProcessEnv, fallback = DEFAULT_CONFIG_PATH): string {
  return env.LEVIATHAN_CONFIG || fallback;
}

/**
 * A ping naming a target uses `<target>.yaml` beside the configured file; a name
 * outside `[a-z0-9][a-z0-9-]*` is refused so it can never climb out of that folder.
 */
export function configPathForTarget(configPath: string, target: string | undefined): string {
  if (target === undefined) return configPath;
  if (!TARGET_NAME_PATTERN.test(target) || target.length > 63) {
    throw new ConfigError(configPath, [
      `target ${JSON.stringify(target)} must match [a-z0-9][a-z0-9-]*`,
    ]);
  }
  return join(dirname(configPath), `${target}.yaml`);
}
