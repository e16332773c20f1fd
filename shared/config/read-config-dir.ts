import type { Dirent } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { TargetFileText } from "./lint-targets.ts";

/** The directory can not be listed at all. */
export class ConfigDirError extends Error {
  override readonly name = "ConfigDirError";
}

/**
 * Every `.yaml` and `.yml` file of a config directory (not its subfolders), with its text. A
 * `.yml` file is read so that the lint can say the tick would never read it.
 */
export async function readConfigDir(dir: string): Promise<TargetFileText[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new ConfigDirError(
      `${dir}: cannot read the config directory (${code === "ENOENT" ? "not found" : code})`,
    );
  }
  const names = entries
    // A mounted ConfigMap's files are symbolic links; its `..data` entries are not configs.
    .filter((entry) => (entry.isFile() || entry.isSymbolicLink()) && !entry.name.startsWith("."))
    .filter((entry) => /\.ya?ml$/.test(entry.name))
    .map((entry) => entry.name)
    .sort();
  return Promise.all(
    names.map(async (name) => ({ name, text: await readFile(join(dir, name), "utf8") })),
  );
}
