import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let found: string | undefined;

/**
 * Leviathan's own folder (the one with its package.json), whether this code runs from the
 * sources or from dist/: files that ship beside the code (`bin/`, `ops/`) are found from here,
 * never from a path relative to one module.
 */
export function projectRoot(): string {
  if (found) return found;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, "utf8")).name === "leviathan") {
      found = dir;
      return dir;
    }
    dir = dirname(dir);
  }
  throw new Error("cannot find Leviathan's package.json above its code");
}
