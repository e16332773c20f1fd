import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { appKeyPair } from "../../../../test/support/github-app-fixtures.ts";
import type { AutonomyConfig } from "../../../config/schema.ts";
import { githubAppFromEnv, PRIVATE_KEY_FILE_VARIABLE } from "./github-app-from-env.ts";

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/** The fields the App's tokens are looked up by; the rest of a config plays no part. */
function appConfig(repo: string): AutonomyConfig {
  return {
    github_app_id: 7,
    github_api_url: "https://api.github.com",
    target_repo_url: `https://github.com/acme/${repo}.git`,
  } as AutonomyConfig;
}

describe("the tick's App tokens per target", () => {
  it("keeps each target's token source across rounds of 1,000 targets, until the key changes", async () => {
    dir = await mkdtemp(join(tmpdir(), "app-from-env-"));
    const keyFile = join(dir, "private-key.pem");
    await writeFile(keyFile, appKeyPair().privateKey);
    const env = { [PRIVATE_KEY_FILE_VARIABLE]: keyFile };
    const configs = Array.from({ length: 1_000 }, (_, i) => appConfig(`repo-${i}`));

    const first = configs.map((config) => githubAppFromEnv(env, config));
    for (const [i, config] of configs.entries()) {
      expect(githubAppFromEnv(env, config), configs[i]!.target_repo_url).toBe(first[i]);
    }
    // A rotated key is another source: tokens minted with the old key are not handed out.
    await writeFile(keyFile, appKeyPair().privateKey);
    expect(githubAppFromEnv(env, configs[0]!)).not.toBe(first[0]);
  });
});
