#!/usr/bin/env node
// Entry for `leviathan` / `npx leviathan`. Runs the compiled dist/ when it is newer than every
// source file (`npm ci` builds it), else the TypeScript sources through tsx, so a source edited
// since the build always runs as written. An image ships dist/ without sources.
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const built = join(root, "dist", "functions", "cli", "main.js");
const stamp = join(root, "dist", ".build-stamp");

/** Whether any source file under `dir` (or the folder's own list of files) changed after `since`. */
function changedSince(dir, since) {
  if (!existsSync(dir)) return false;
  if (statSync(dir).mtimeMs > since) return true;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (changedSince(path, since)) return true;
    } else if (
      entry.name.endsWith(".ts") &&
      !entry.name.endsWith(".test.ts") &&
      statSync(path).mtimeMs > since
    ) {
      return true;
    }
  }
  return false;
}

function builtIsCurrent() {
  if (!existsSync(built)) return false;
  const hasSources = existsSync(join(root, "functions", "cli", "main.ts"));
  if (!hasSources) return true;
  if (!existsSync(stamp)) return false;
  const since = statSync(stamp).mtimeMs;
  return (
    !changedSince(join(root, "functions"), since) && !changedSince(join(root, "shared"), since)
  );
}

if (builtIsCurrent()) {
  await import(pathToFileURL(built).href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(pathToFileURL(join(root, "functions", "cli", "main.ts")).href);
}
