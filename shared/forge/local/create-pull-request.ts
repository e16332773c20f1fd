import { nullableString, optionalString, requiredString } from "./body-fields.ts";
import { validationFailed } from "./forge-errors.ts";
import { gitTarget, requireRepository } from "./forge-services.ts";
import { type HeadSide, headFullName, invalidHead, parseHead } from "./head-repository.ts";
import { fullPullRequest } from "./pull-request-reply.ts";
import { isAncestor, listBranches } from "./read-repository.ts";
import type { RestContext, RestReply } from "./rest-context.ts";
import { forgeGit, forgeGitText } from "./run-forge-git.ts";
import type { StoredPullRequest } from "./types.ts";

/**
 * `POST /repos/{owner}/{repo}/pulls` with `title`, `body`, `head` (`branch`, or `owner:branch`
 * for a branch of another repository of the forge: the owner's of the same name, or `head_repo`)
 * and `base`. Both branches must exist, the head must have commits the base lacks, and one head
 * may have one open PR per base: each refusal is GitHub's 422 with its `errors`.
 */
export async function createPullRequest(context: RestContext): Promise<RestReply> {
  const { owner = "", repo = "" } = context.params;
  const { services } = context;
  const current = await requireRepository(services, owner, repo);
  const input = await context.body();
  const title = requiredString(input, "title");
  const head = requiredString(input, "head");
  const base = requiredString(input, "base");
  const body = nullableString(input, "body") ?? null;
  const side = parseHead(head, current, optionalString(input, "head_repo"));
  if (side?.fork && !(await services.store.read(side.owner, side.name))) throw invalidHead();
  const target = gitTarget(services, owner, repo);

  const { state, pull, branches } = await services.store.update(owner, repo, async (state) => {
    const branches = await listBranches(target);
    const tip = side ? (await headBranches(context, side, branches)).get(side.ref) : undefined;
    const baseSha = branches.get(base);
    if (!side || tip === undefined) throw invalidHead();
    if (baseSha === undefined) {
      throw validationFailed({ resource: "PullRequest", field: "base", code: "invalid" });
    }
    const headRepository = side.fork ? `${side.owner}/${side.name}` : undefined;
    const duplicate = state.pulls.find(
      (pull) =>
        pull.state === "open" &&
        pull.head_ref === side.ref &&
        pull.head_repository === headRepository &&
        pull.base_ref === base,
    );
    if (duplicate) {
      throw validationFailed({
        resource: "PullRequest",
        code: "custom",
        message: `A pull request already exists for ${side.owner}:${side.ref}.`,
      });
    }
    const number = state.next_number;
    // A fork's branch may move while it is fetched: the commit fetched is the PR's head.
    const headSha = side.fork ? await fetchForkHead(context, side, number) : tip;
    try {
      const key = `${target.gitDir}\0ancestor\0${headSha}\0${baseSha}`;
      if (await services.memo.remember(key, () => isAncestor(target, headSha, baseSha))) {
        throw validationFailed({
          resource: "PullRequest",
          code: "custom",
          message: `No commits between ${base} and ${side.ref}`,
        });
      }
    } catch (error) {
      if (side.fork) await dropForkHead(context, number);
      throw error;
    }
    const at = services.now().toISOString();
    const pull: StoredPullRequest = {
      number,
      title,
      body,
      state: "open",
      head_ref: side.ref,
      ...(headRepository ? { head_repository: headRepository } : {}),
      head_sha: headSha,
      base_ref: base,
      base_sha: baseSha,
      created_at: at,
      updated_at: at,
      closed_at: null,
      merged_at: null,
      merge_commit_sha: null,
    };
    state.next_number++;
    state.pulls.push(pull);
    return { state: structuredClone(state), pull, branches };
  });
  services.logger?.info(
    { owner, repo, number: pull.number, head: headFullName(state, pull), ref: pull.head_ref },
    "pull request opened",
  );
  return {
    status: 201,
    body: await fullPullRequest(services, state, pull, branches),
    headers: { location: `${services.urls.apiUrl}/repos/${owner}/${repo}/pulls/${pull.number}` },
  };
}

/** The branches the head is one of: this repository's, or the fork's. */
async function headBranches(
  context: RestContext,
  side: HeadSide,
  own: Map<string, string>,
): Promise<Map<string, string>> {
  if (!side.fork) return own;
  return listBranches(gitTarget(context.services, side.owner, side.name));
}

/**
 * The fork's branch into this repository as `refs/pull/<number>/head`, so diffs, mergeability
 * and merges work here; returns the commit fetched.
 */
async function fetchForkHead(
  context: RestContext,
  side: HeadSide,
  number: number,
): Promise<string> {
  const { owner = "", repo = "" } = context.params;
  const target = gitTarget(context.services, owner, repo);
  const ref = `refs/pull/${number}/head`;
  const fork = context.services.store.gitDir(side.owner, side.name);
  await forgeGit(["fetch", "--quiet", "--no-tags", fork, `+refs/heads/${side.ref}:${ref}`], target);
  return forgeGitText(["rev-parse", "--verify", `${ref}^{commit}`], target);
}

async function dropForkHead(context: RestContext, number: number): Promise<void> {
  const { owner = "", repo = "" } = context.params;
  await forgeGit(
    ["update-ref", "-d", `refs/pull/${number}/head`],
    gitTarget(context.services, owner, repo),
  );
}
