// `leviathan tick` as a user runs it: a child process against a real control plane and
// the local forge; the decision alone on stdout, logs (with the forge request count) on stderr.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, expect, it } from "vitest";
import { startLocalForge } from "../../shared/forge/local/start-local-forge.ts";
import type { LocalForge } from "../../shared/forge/local/types.ts";
import { startTestControlPlane, type TestControlPlane, TOKEN } from "../control-plane/support.ts";
import { writeFiles } from "../support/forge-fixtures.ts";
import { repoPath } from "../support/repo-root.ts";

const execFileAsync = promisify(execFile);
const BIN = repoPath("bin", "leviathan.js");
let cp: TestControlPlane;
let forge: LocalForge;
let dir: string;
let env: NodeJS.ProcessEnv;

beforeEach(async () => {
  const githubToken = `test-token-${randomBytes(8).toString("hex")}`;
  cp = await startTestControlPlane();
  dir = await mkdtemp(join(tmpdir(), "leviathan-tick-cli-"));
  await writeFiles(join(dir, "source"), {
    ".leviathan/backlog.yaml":
      "tasks:\n  - id: docs-1\n    title: Guide\n    ready: true\n    allowed_paths: [docs/guide.md]\n",
  });
  forge = await startLocalForge({ root: join(dir, "forge"), token: githubToken });
  await forge.createRepository("acme", "radix", { fromDir: join(dir, "source") });
  const seed = await readFile(repoPath("ops", "autonomy", "dev.yaml"), "utf8");
  await writeFile(
    join(dir, "dev.yaml"),
    `${seed.replace("https://github.com/iangreen74/radix.git", "https://github.example/acme/radix.git")}github_api_url: ${forge.apiUrl}\n`,
  );
  env = {
    PATH: process.env.PATH,
    HOME: dir,
    LEVIATHAN_HOME: dir,
    LEVIATHAN_CONFIG: join(dir, "dev.yaml"),
    LEVIATHAN_JOB_RUNNER: "process",
    GITHUB_TOKEN: githubToken,
    CONTROL_PLANE_URL: cp.url,
    CONTROL_PLANE_TOKEN: TOKEN,
  };
});

afterEach(async () => {
  await forge.close();
  await cp.cleanup();
  await rm(dir, { recursive: true, force: true });
});

it("prints only the decision on stdout with --json, and logs the forge requests on stderr", async () => {
  const { stdout, stderr } = await execFileAsync(
    process.execPath,
    [BIN, "tick", "--dry-run", "--json"],
    { env, timeout: 60_000 },
  );
  const lines = stdout.trim().split("\n");
  expect(lines).toHaveLength(1);
  const decision = JSON.parse(lines[0]!);
  expect(decision).toMatchObject({ action: "dispatch", task_id: "docs-1", attempt_number: 1 });
  expect(Object.keys(decision).sort()).toEqual([
    "action",
    "attempt_id",
    "attempt_number",
    "task_id",
  ]);
  const decided = stderr
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { msg?: string; forgeRequests?: number })
    .find((l) => l.msg === "tick decided");
  expect(decided?.forgeRequests).toBe(2);
  expect(stdout + stderr).not.toContain(TOKEN);
  expect(stdout + stderr).not.toContain(env.GITHUB_TOKEN);
});

it("exits non-zero with a clear message when the control plane cannot be reached", async () => {
  await cp.stop();
  const run = execFileAsync(process.execPath, [BIN, "tick"], {
    env,
    timeout: 120_000,
  });
  await expect(run).rejects.toMatchObject({ code: 1 });
  const error = (await run.catch((e: { stderr: string }) => e)) as { stderr: string };
  expect(error.stderr).toMatch(/leviathan tick: .*control plane/i);
  await cp.restart();
});

it("finds both tokens through GITHUB_TOKEN_FILE and CONTROL_PLANE_TOKEN_FILE", async () => {
  const githubFile = join(dir, "github-token");
  const controlPlaneFile = join(dir, "control-plane-token");
  await writeFile(githubFile, `${env.GITHUB_TOKEN}\n`, { mode: 0o600 });
  await writeFile(controlPlaneFile, `${TOKEN}\n`, { mode: 0o600 });
  const { GITHUB_TOKEN: _g, CONTROL_PLANE_TOKEN: _c, ...rest } = env;
  const { stdout } = await execFileAsync(process.execPath, [BIN, "tick", "--dry-run", "--json"], {
    env: { ...rest, GITHUB_TOKEN_FILE: githubFile, CONTROL_PLANE_TOKEN_FILE: controlPlaneFile },
    timeout: 60_000,
  });
  // The decision needed both: the control plane's target state and the forge's backlog.
  expect(JSON.parse(stdout)).toMatchObject({ action: "dispatch", task_id: "docs-1" });
});

it("a GITHUB_TOKEN_FILE that cannot be read: exit 1 naming the variable and the path", async () => {
  const { GITHUB_TOKEN: _g, ...rest } = env;
  const missing = join(dir, "no-such-token");
  const run = execFileAsync(process.execPath, [BIN, "tick", "--dry-run"], {
    env: { ...rest, GITHUB_TOKEN_FILE: missing },
    timeout: 60_000,
  });
  const error = (await run.catch((e: unknown) => e)) as { code: number; stderr: string };
  expect(error.code).toBe(1);
  expect(error.stderr).toContain(`GITHUB_TOKEN_FILE: cannot read ${missing} (ENOENT)`);
});
