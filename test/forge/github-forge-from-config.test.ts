import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { autonomyConfigSchema } from "../../shared/config/schema.ts";
import { forgeFromConfig } from "../../shared/forge/github/forge-from-config.ts";
import { startLocalForge } from "../../shared/forge/local/start-local-forge.ts";
import type { LocalForge } from "../../shared/forge/local/types.ts";
import { captureLogger } from "../support/capture-logger.ts";
import { writeFiles } from "../support/forge-fixtures.ts";
import { tempDir } from "../support/temp-dir.ts";

let local: LocalForge | undefined;

afterEach(async () => {
  await local?.close();
  local = undefined;
});

function config(targetRepoUrl: string, githubApiUrl: string) {
  return autonomyConfigSchema.parse({
    target_id: "radix",
    target_repo_url: targetRepoUrl,
    target_branch: "main",
    allowed_path_prefixes: [".leviathan/", "docs/"],
    max_open_prs: 1,
    max_running_attempts: 1,
    max_attempts_per_task: 2,
    circuit_breaker_failures: 2,
    schedule_cron: "*/5 * * * *",
    attempt_timeout_seconds: 900,
    control_plane_url: "http://leviathan-control-plane:8000",
    worker_image: "leviathan-worker:local",
    worker_namespace: "leviathan",
    workspace_dir: "/workspace",
    github_api_url: githubApiUrl,
  });
}

describe("forgeFromConfig", () => {
  it("asks github_api_url about the owner/repo of target_repo_url, with the given token", async () => {
    const token = `test-token-${randomBytes(8).toString("hex")}`;
    const dir = tempDir();
    await writeFiles(join(dir, "source"), { ".leviathan/backlog.yaml": "tasks: []\n" });
    local = await startLocalForge({ root: join(dir, "root"), token });
    await local.createRepository("iangreen74", "radix", { fromDir: join(dir, "source") });
    const { apiUrl, url: origin } = local;
    const { logger, lines } = captureLogger();
    const forge = forgeFromConfig(
      // A trailing slash on the API URL and .git on the repository URL are both tolerated.
      config(`${origin}/iangreen74/radix.git`, `${apiUrl}/`),
      token,
      logger,
    );
    expect(await forge.readFile(".leviathan/backlog.yaml", "main")).toBe("tasks: []\n");
    expect(new URL(local.requests[0]!.path, origin).pathname).toMatch(
      /^\/api\/v3\/repos\/iangreen74\/radix\/contents\//,
    );
    expect(lines.some((line) => line.includes('"msg":"forge request"'))).toBe(true);
    expect(lines.join("")).not.toContain(token);
  });
});
