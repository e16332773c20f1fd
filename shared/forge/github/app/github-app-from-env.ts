import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { BoundedLru } from "../../../cache/bounded-lru.ts";
import { type AutonomyConfig, parseRepoUrl } from "../../../config/schema.ts";
import type { Logger } from "../../../log/logger.ts";
import { createGitHubAppTokens, type GitHubAppTokens } from "./github-app-tokens.ts";

/** The file with the App's private key (Secret `leviathan-github-app`, key `private-key.pem`). */
export const PRIVATE_KEY_FILE_VARIABLE = "GITHUB_APP_PRIVATE_KEY_FILE";

/** The config names an App but the key is missing or unreadable: the process cannot ask GitHub. */
export class GitHubAppSetupError extends Error {
  override readonly name = "GitHubAppSetupError";
}

/**
 * Tokens sources kept per App, repository and key while the process lives (the tick's cache).
 * Room for every target of a large fleet: the tick's pings go round all of them every five
 * minutes, so a smaller bound would drop each source before its next tick and every tick would
 * mint a new installation token.
 */
const MAX_KEPT = 10_000;
const kept = new BoundedLru<GitHubAppTokens>(MAX_KEPT);

/**
 * The target's App tokens when the config names a GitHub App (`github_app_id`), else undefined
 * (`GITHUB_TOKEN` is used as before). The key is read from `GITHUB_APP_PRIVATE_KEY_FILE` each
 * time, so a rotated Secret is picked up on the next call; the same App, repository and key give
 * the same object, whose tokens live across ticks until shortly before they expire.
 */
export function githubAppFromEnv(
  env: NodeJS.ProcessEnv,
  config: AutonomyConfig,
  options: { logger?: Logger } = {},
): GitHubAppTokens | undefined {
  if (config.github_app_id === undefined) return undefined;
  const privateKey = readPrivateKey(env);
  const coordinates = parseRepoUrl(config.target_repo_url);
  if ("error" in coordinates) throw new GitHubAppSetupError(`target_repo_url ${coordinates.error}`);
  const fingerprint = createHash("sha256").update(privateKey).digest("hex");
  const key = [
    config.github_api_url,
    config.github_app_id,
    config.github_app_installation_id ?? "",
    coordinates.owner,
    coordinates.repo,
    fingerprint,
  ].join("\n");
  // The least recently asked for goes first.
  const found = kept.get(key);
  if (found) return found;
  const tokens = createGitHubAppTokens(
    {
      appId: config.github_app_id,
      ...(config.github_app_installation_id !== undefined
        ? { installationId: config.github_app_installation_id }
        : {}),
      privateKey,
      apiUrl: config.github_api_url,
      owner: coordinates.owner,
      repo: coordinates.repo,
    },
    options.logger ? { logger: options.logger } : {},
  );
  kept.set(key, tokens, 1);
  return tokens;
}

function readPrivateKey(env: NodeJS.ProcessEnv): string {
  const path = env[PRIVATE_KEY_FILE_VARIABLE]?.trim();
  if (!path) {
    throw new GitHubAppSetupError(
      `github_app_id is set but ${PRIVATE_KEY_FILE_VARIABLE} is not: the App's private key is needed`,
    );
  }
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new GitHubAppSetupError(`${PRIVATE_KEY_FILE_VARIABLE}: cannot read ${path} (${code})`);
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    throw new GitHubAppSetupError(`${PRIVATE_KEY_FILE_VARIABLE}: ${path} holds no PEM private key`);
  }
  return text;
}
