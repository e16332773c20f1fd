// Stands in for `leviathan attempt` in the runner tests: records the environment it was given
// (in LEVIATHAN_WORKSPACE_DIR, which the tests point at their own folder), writes to stdout and stderr, then does what
// FAKE_ATTEMPT says: `exit:<code>`, `until-released` (exits 0 once `release-<id>` exists),
// `hang` (starts a grandchild and never ends), `hang-stubborn` (the same, ignoring SIGTERM).
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";

// The runner starts attempts in /, never in its home: the test's files go to the workspace.
mkdirSync(process.env.LEVIATHAN_WORKSPACE_DIR, { recursive: true });
process.chdir(process.env.LEVIATHAN_WORKSPACE_DIR);

const id = process.env.ATTEMPT_ID ?? "unknown";
writeFileSync(`env-${id}.json`, JSON.stringify(process.env));
// What the token files held while the attempt ran (the runner removes them after it exits).
const tokens = {};
for (const name of ["GITHUB_TOKEN_FILE", "CONTROL_PLANE_TOKEN_FILE"]) {
  if (process.env[name]) tokens[name] = readFileSync(process.env[name], "utf8").trim();
}
writeFileSync(`tokens-${id}.json`, JSON.stringify(tokens));
process.stdout.write(`attempt ${id} output\n`);
process.stderr.write(`attempt ${id} diagnostics\n`);

const mode = process.env.FAKE_ATTEMPT ?? "exit:0";
if (mode.startsWith("exit:")) process.exit(Number(mode.slice("exit:".length)));
if (mode === "until-released") {
  const timer = setInterval(() => {
    if (!existsSync(`release-${id}`)) return;
    clearInterval(timer);
    process.exit(0);
  }, 20);
}
if (mode === "hang" || mode === "hang-stubborn") {
  if (mode === "hang-stubborn") process.on("SIGTERM", () => {});
  const grandchild = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], {
    stdio: "ignore",
  });
  writeFileSync(`grandchild-${id}.pid`, String(grandchild.pid));
  setInterval(() => {}, 1000);
}
