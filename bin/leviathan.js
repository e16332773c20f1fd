#!/usr/bin/env node
// Entry for `leviathan` / `npx leviathan`. Runs the TypeScript sources through tsx, so a fresh
// `npm ci` is all the set-up there is; a built image can ship dist/ and skip the loader.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const built = join(root, "dist", "functions", "cli", "main.js");
if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(pathToFileURL(join(root, "functions", "cli", "main.ts")).href);
}
