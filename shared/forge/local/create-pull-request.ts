import { nullableString, requiredString } from "./body-fields.ts";
import { validationFailed } from "./forge-errors.ts";
import { gitTarget, requireRepository } from "./forge-services.ts";
import { fullPullRequest } from "./pull-request-reply.ts";
import { headBranch } from "./pull-request-tips.ts";
import { isAncestor, listBranches } from "./read-repository.ts";
import type { RestContext, RestReply } from "./rest-context.ts";
import type { StoredPullRequest } from "./types.ts";

/**
 * `POST /repos/{owner}/{repo}/pulls` with `title`, `body`, `head` (`branch` or `owner:branch`)
 * and `base`. Both branches must exist, the head must have commits the base lacks, and one
 * head may have one open PR per base: each refusal is GitHub's 422 with its `errors`.
 */
export async function createPullRequest(context: RestContext): Promise<RestReply> {
  const { owner = "", repo = "" } = context.params;
  const { services } = context;
  await requireRepository(services, owner, repo);
  const input = await context.body();
  const title = requiredString(input, "title");
  const head = requiredString(input, "head");
  const base = requiredString(input, "base");
  const body = nullableString(input, "body") ?? null;
  const target = gitTarget(services, owner, repo);

  const { state, pull, branches } = await services.store.update(owner, repo, async (state) => {
    const branches = await listBranches(target);
    const headRef = headBranch(head, owner);
    const headSha = headRef === undefined ? undefined : branches.get(headRef);
    const baseSha = branches.get(base);
    if (headRef === undefined || headSha === undefined) {
      throw validationFailed({ resource: "PullRequest", field: "head", code: "invalid" });
    }
    if (baseSha === undefined) {
      throw validationFailed({ resource: "PullRequest", field: "base", code: "invalid" });
    }
    const duplicate = state.pulls.find(
      (pull) => pull.state === "open" && pull.head_ref === headRef && pull.base_ref === base,
    );
    if (duplicate) {
      throw validationFailed({
        resource: "PullRequest",
        code: "custom",
        message: `A pull request already exists for ${owner}:${headRef}.`,
      });
    }
    const key = `${target.gitDir}\0ancestor\0${headSha}\0${baseSha}`;
    if (await services.memo.remember(key, () => isAncestor(target, headSha, baseSha))) {
      throw validationFailed({
        resource: "PullRequest",
        code: "custom",
        message: `No commits between ${base} and ${headRef}`,
      });
    }
    const at = services.now().toISOString();
    const pull: StoredPullRequest = {
      number: state.next_number,
      title,
      body,
      state: "open",
      head_ref: headRef,
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
    { owner, repo, number: pull.number, head: pull.head_ref, base: pull.base_ref },
    "pull request opened",
  );
  return {
    status: 201,
    body: await fullPullRequest(services, state, pull, branches),
    headers: { location: `${services.urls.apiUrl}/repos/${owner}/${repo}/pulls/${pull.number}` },
  };
}
