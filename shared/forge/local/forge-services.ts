import type { Logger } from "../../log/logger.ts";
import type { AppRegistry } from "./app-registry.ts";
import type { BlobCache } from "./blob-cache.ts";
import type { CommitMemo } from "./commit-memo.ts";
import { notFound } from "./forge-errors.ts";
import type { ForgeUrls } from "./github-objects.ts";
import type { GitTarget } from "./read-repository.ts";
import type { RepositoryStore } from "./repository-store.ts";
import type { RepositoryState } from "./types.ts";

/** What the routes and the merge share: the disk, the URLs, the clock, git's time limit. */
export interface ForgeServices {
  store: RepositoryStore;
  urls: ForgeUrls;
  gitTimeoutMs: number;
  /** Answers that depend on commit ids or a refs generation only, kept once worked out. */
  memo: CommitMemo;
  /** File contents already read, by blob id. */
  blobs: BlobCache;
  /** The registered GitHub Apps, their installations and tokens. */
  apps: AppRegistry;
  logger?: Logger;
  now(): Date;
}

export function gitTarget(services: ForgeServices, owner: string, repo: string): GitTarget {
  return {
    gitDir: services.store.gitDir(owner, repo),
    timeoutMs: services.gitTimeoutMs,
    ...(services.logger ? { logger: services.logger } : {}),
  };
}

/** The repository's state, or GitHub's 404. */
export async function requireRepository(
  services: ForgeServices,
  owner: string,
  repo: string,
): Promise<RepositoryState> {
  const state = await services.store.read(owner, repo);
  if (!state) throw notFound();
  return state;
}
