import { type ForgeServices, gitTarget } from "./forge-services.ts";
import { pullRequestObject } from "./github-objects.ts";
import { headRepositoryOf } from "./head-repository.ts";
import { mergeTree } from "./merge-pull-request.ts";
import { pullRequestTips } from "./pull-request-tips.ts";
import { type ChangeStats, changeStats, type GitTarget } from "./read-repository.ts";
import type { RepositoryState, StoredPullRequest } from "./types.ts";

const NO_CHANGES: ChangeStats = {
  commits: 0,
  additions: 0,
  deletions: 0,
  changedFiles: 0,
  files: [],
};

/**
 * The full `pull-request` object: counts from git (`base...head`), and for an open PR whether
 * it merges cleanly, worked out as the merge itself would (GitHub computes the same lazily).
 */
export async function fullPullRequest(
  services: ForgeServices,
  state: RepositoryState,
  pull: StoredPullRequest,
  branches: ReadonlyMap<string, string>,
) {
  const target = gitTarget(services, state.owner, state.name);
  const tips = pullRequestTips(pull, branches);
  const [stats, mergeable] = await Promise.all([
    // A closed PR's commits may be gone (its branch deleted and collected): show no counts then.
    pullRequestStats(services, target, tips.baseSha, tips.headSha).catch(() => NO_CHANGES),
    pull.state === "open"
      ? services.memo
          .remember(`${target.gitDir}\0merge\0${tips.baseSha}\0${tips.headSha}`, () =>
            mergeTree(target, tips.baseSha, tips.headSha),
          )
          .then(
            (tree) => tree !== undefined,
            () => null,
          )
      : Promise.resolve(null),
  ]);
  const headState = await headRepositoryOf(services, state, pull);
  return pullRequestObject(services.urls, state, pull, tips, stats, mergeable, headState);
}

/** What a PR changes between two commits, worked out once per pair. */
export function pullRequestStats(
  services: ForgeServices,
  target: GitTarget,
  base: string,
  head: string,
): Promise<ChangeStats> {
  return services.memo.remember(`${target.gitDir}\0stats\0${base}\0${head}`, () =>
    changeStats(target, base, head),
  );
}
