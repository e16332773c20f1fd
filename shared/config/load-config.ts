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
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(
      path,
      [code === "ENOENT" ? "file not found" : `cannot read: ${code}`],
      code === "ENOENT",
    );
  }
  return { config: parseConfig(text, path), path, name: basename(path) };
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
