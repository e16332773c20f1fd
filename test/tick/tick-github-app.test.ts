// The tick with a GitHub App against the local forge: read-only installation tokens for the
// target repository, one per process until near its expiry, and neither the key nor a token in
// its log. A leaked tick token can read and cannot push.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config/load-config.ts";
import { githubAppFromEnv } from "../../shared/forge/github/app/github-app-from-env.ts";
import { TICK_PERMISSIONS } from "../../shared/forge/github/app/github-app-tokens.ts";
import { forgeFromConfig } from "../../shared/forge/github/forge-from-config.ts";
import { composeTick } from "../../shared/scheduler/compose-tick.ts";
import { parseTickEnv } from "../../shared/scheduler/tick-env.ts";
import {
  CONTROL_PLANE_TOKEN,
  type Harness,
  OWNER,
  REPO,
  startHarness,
  TARGET,
} from "../attempt/run-attempt-fixtures.ts";
import { basicHeader, runGit, writeFiles } from "../support/forge-fixtures.ts";
import { installTestApp, type TestApp } from "../support/github-app-fixtures.ts";
import { removeTempDirs, tempDir } from "../support/temp-dir.ts";

const SEED = fileURLToPath(new URL("../../ops/autonomy/dev.yaml", import.meta.url));

let harness: Harness;
let app: TestApp;
let dir: string;
let env: NodeJS.ProcessEnv;
const logLines: string[] = [];
const logger = pino({ level: "debug" }, { write: (line: string) => logLines.push(line) });

beforeAll(async () => {
  harness = await startHarness();
  app = installTestApp(harness.forge, OWNER);
  dir = tempDir("leviathan-tick-app-");
  const keyFile = join(dir, "private-key.pem");
  writeFileSync(keyFile, app.privateKey, { mode: 0o600 });
  const seed = readFileSync(SEED, "utf8")
    .replace(/^target_id: .*$/m, `target_id: ${TARGET}`)
    .replace(/^target_repo_url: .*$/m, `target_repo_url: ${harness.forge.gitUrl(OWNER, REPO)}`)
    .replace(/^control_plane_url: .*$/m, `control_plane_url: ${harness.controlPlane.url}`);
  writeFileSync(
    join(dir, "dev.yaml"),
    `${seed}github_api_url: ${harness.forge.apiUrl}\ngithub_app_id: ${app.appId}\n`,
  );
  env = {
    LEVIATHAN_CONFIG: join(dir, "dev.yaml"),
    CONTROL_PLANE_URL: harness.controlPlane.url,
    CONTROL_PLANE_TOKEN,
    LEVIATHAN_HOME: dir,
    GITHUB_APP_PRIVATE_KEY_FILE: keyFile,
  };
});

afterAll(async () => {
  await harness.close();
  removeTempDirs();
});

const tick = (tickId: string, tickEnv = env) =>
  composeTick(parseTickEnv(tickEnv), { logger, createForge: forgeFromConfig }).run({
    tickId,
    dryRun: true,
  });

const appRequests = () =>
  harness.forge.requests.filter(
    (request) => request.path.includes("/installation") || request.path.includes("/app/"),
  );

describe("the tick with a GitHub App", () => {
  it("asks the forge with an installation token, minted once for two ticks, nothing in its log", async () => {
    const first = await tick("tick-app-1");
    const second = await tick("tick-app-2");
    for (const outcome of [first, second]) {
      expect(outcome.forgeRequests).toBeGreaterThan(0);
      expect(outcome.decision).toMatchObject({ action: "dispatch", task_id: "task-1" });
    }
    expect(appRequests().map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      `GET /api/v3/repos/${OWNER}/${REPO}/installation 200`,
      `POST /api/v3/app/installations/${app.installationId}/access_tokens 201`,
    ]);
    const { config } = await loadConfig(join(dir, "dev.yaml"));
    const token = await githubAppFromEnv(env, config)!.cached(TICK_PERMISSIONS).token();
    const log = logLines.join("");
    expect(log).not.toContain(token);
    expect(log).not.toContain("PRIVATE KEY");
  });

  it("a leaked tick token reads the repository and cannot push to it", async () => {
    const { config } = await loadConfig(join(dir, "dev.yaml"));
    const token = await githubAppFromEnv(env, config)!.cached(TICK_PERMISSIONS).token();
    const url = harness.forge.gitUrl(OWNER, REPO);
    const auth = ["-c", `http.extraHeader=${basicHeader(token)}`];
    expect((await runGit([...auth, "ls-remote", url], dir)).code).toBe(0);
    const clone = mkdtempSync(join(dir, "clone-"));
    expect((await runGit([...auth, "clone", "-q", url, clone], dir)).code).toBe(0);
    await writeFiles(clone, { "docs/evil.md": "pushed by the tick\n" });
    await runGit(["add", "docs/evil.md"], clone);
    await runGit(["-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qm", "evil"], clone);
    const push = await runGit([...auth, "push", "origin", "HEAD:refs/heads/main"], clone);
    expect(push.code).not.toBe(0);
    expect(push.stderr).toMatch(/403|not granted/);
    const side = await runGit([...auth, "push", "origin", "HEAD:refs/heads/agent/x"], clone);
    expect(side.code).not.toBe(0);
  });

  it("without the key file: the tick fails safe (503) naming GITHUB_APP_PRIVATE_KEY_FILE", async () => {
    const { GITHUB_APP_PRIVATE_KEY_FILE: _, ...withoutKey } = env;
    await expect(tick("tick-app-3", withoutKey)).rejects.toThrow(/GITHUB_APP_PRIVATE_KEY_FILE/);
    await expect(
      tick("tick-app-4", { ...env, GITHUB_APP_PRIVATE_KEY_FILE: join(dir, "missing.pem") }),
    ).rejects.toThrow(/GITHUB_APP_PRIVATE_KEY_FILE: cannot read .*missing\.pem \(ENOENT\)/);
  });

  it("an App not installed on the repository: the tick skips forge_unavailable, naming the App", async () => {
    const stranger = installTestApp(harness.forge, "someone-else");
    const keyFile = join(dir, "stranger.pem");
    writeFileSync(keyFile, stranger.privateKey, { mode: 0o600 });
    const configPath = join(dir, "stranger.yaml");
    writeFileSync(
      configPath,
      readFileSync(join(dir, "dev.yaml"), "utf8").replace(
        /^github_app_id: .*$/m,
        `github_app_id: ${stranger.appId}`,
      ),
    );
    const outcome = await tick("tick-app-5", {
      ...env,
      LEVIATHAN_CONFIG: configPath,
      GITHUB_APP_PRIVATE_KEY_FILE: keyFile,
    });
    expect(outcome.decision).toMatchObject({ action: "skip", reason: "forge_unavailable" });
    // The log says why, without the key.
    const log = logLines.join("");
    expect(log).toMatch(
      new RegExp(
        `GitHub App ${stranger.appId}: finding its installation on ${OWNER}/${REPO}: HTTP 404`,
      ),
    );
    expect(log).not.toContain("PRIVATE KEY");
  });
});
