import { ForgeHttpError, notFound, validationFailed } from "./forge-errors.ts";
import { type ForgeServices, gitTarget } from "./forge-services.ts";
import { headOwner } from "./head-repository.ts";
import { type GitTarget, listBranches } from "./read-repository.ts";
import { forgeGit, forgeGitText } from "./run-forge-git.ts";

/** The body of `PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge`. */
export interface MergeRequest {
  commit_title?: string;
  commit_message?: string;
  /** The head the caller expects; another one is a 409. */
  sha?: string;
  /** `merge` (default), `squash` or `rebase` (refused, as a repository may refuse it). */
  merge_method?: string;
}

export interface MergeResult {
  sha: string;
  merged: true;
  message: string;
}

const NOT_MERGEABLE = "Pull Request is not mergeable";

/**
 * The tree of merging `head` into `base`, computed in the bare repository without a work tree
 * (`git merge-tree --write-tree`, git ≥ 2.38), or undefined when they conflict.
 */
export async function mergeTree(
  target: GitTarget,
  base: string,
  head: string,
): Promise<string | undefined> {
  const { stdout, exitCode } = await forgeGit(
    ["merge-tree", "--write-tree", "--no-messages", base, head],
    { ...target, okExitCodes: [1] },
  );
  if (exitCode === 1) return undefined;
  return stdout.toString("utf8").split("\n")[0]?.trim();
}

/**
 * Merges a PR as GitHub's merge button does: a real merge commit (or one squashed commit) on
 * the base branch, made with plumbing so no work tree is involved, and the base moved only
 * if nobody moved it meanwhile. The REST route and `LocalForge.mergePullRequest` both call it.
 */
export async function mergePullRequest(
  services: ForgeServices,
  owner: string,
  repo: string,
  number: number,
  request: MergeRequest = {},
): Promise<MergeResult> {
  const method = request.merge_method ?? "merge";
  if (!["merge", "squash", "rebase"].includes(method)) {
    throw validationFailed({ resource: "PullRequest", field: "merge_method", code: "invalid" });
  }
  if (!(await services.store.read(owner, repo))) throw notFound();
  const target = gitTarget(services, owner, repo);
  return services.store.update(owner, repo, async (state) => {
    const pull = state.pulls.find((candidate) => candidate.number === number);
    if (!pull) throw notFound();
    if (pull.state !== "open") throw new ForgeHttpError(405, NOT_MERGEABLE);
    if (method === "rebase") {
      throw new ForgeHttpError(405, "Rebase merges are not allowed on this repository.");
    }
    const branches = await listBranches(target);
    // A fork's head is the commit fetched into this repository when the PR opened.
    const headSha = pull.head_repository ? pull.head_sha : branches.get(pull.head_ref);
    const baseSha = branches.get(pull.base_ref);
    if (!headSha || !baseSha) throw new ForgeHttpError(405, NOT_MERGEABLE);
    if (request.sha !== undefined && request.sha !== headSha) {
      throw new ForgeHttpError(409, "Head branch was modified. Review and try the merge again.");
    }
    const tree = await mergeTree(target, baseSha, headSha);
    if (!tree) throw new ForgeHttpError(405, NOT_MERGEABLE);

    const title =
      request.commit_title ??
      (method === "squash"
        ? `${pull.title} (#${number})`
        : `Merge pull request #${number} from ${headOwner(state, pull)}/${pull.head_ref}`);
    const message = request.commit_message ?? (method === "squash" ? "" : pull.title);
    const parents = method === "squash" ? ["-p", baseSha] : ["-p", baseSha, "-p", headSha];
    const messageArgs = message === "" ? ["-m", title] : ["-m", title, "-m", message];
    const commit = await forgeGitText(["commit-tree", tree, ...parents, ...messageArgs], target);
    // Compare-and-swap: a push to the base since we read it makes this fail, not overwrite it.
    const moved = await forgeGit(["update-ref", `refs/heads/${pull.base_ref}`, commit, baseSha], {
      ...target,
      okExitCodes: [1, 128],
    });
    if (moved.exitCode !== 0) {
      throw new ForgeHttpError(409, "Base branch was modified. Review and try the merge again.");
    }

    const at = services.now().toISOString();
    pull.state = "closed";
    pull.merged_at = at;
    pull.closed_at = at;
    pull.updated_at = at;
    pull.merge_commit_sha = commit;
    pull.head_sha = headSha;
    pull.base_sha = baseSha;
    services.logger?.info({ owner, repo, number, sha: commit }, "pull request merged");
    return { sha: commit, merged: true, message: "Pull Request successfully merged" };
  });
}
