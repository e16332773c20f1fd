#!/usr/bin/env node
// `npm ci` runs this (the `prepare` script): compiles functions/ and shared/ to dist/, so every
// `leviathan` command starts without a TypeScript loader, and stamps the build. Where the
// sources are not there yet (an image's dependency layer), there is nothing to build.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
if (!existsSync(join(root, "functions")) || !existsSync(join(root, "shared")) || !existsSync(tsc)) {
  console.log("leviathan build: no sources or no compiler here; nothing to build");
  process.exit(0);
}
const started = performance.now();
const result = spawnSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], {
  stdio: "inherit",
});
if (result.status !== 0) {
  // The sources still run through tsx: a failed build costs start-up time, nothing else.
  console.error("leviathan build: tsc failed; commands will run the sources through tsx");
  process.exit(0);
}
// Static files tsc does not emit: the console's page, style sheet and script.
for (const dir of ["shared/control-plane/console"]) {
  cpSync(join(root, dir), join(root, "dist", dir), { recursive: true });
}
writeFileSync(join(root, "dist", ".build-stamp"), `${new Date().toISOString()}\n`);
console.log(`leviathan build: dist/ in ${Math.round(performance.now() - started)} ms`);
