import { nullableString, optionalString } from "./body-fields.ts";
import { notFound, validationFailed } from "./forge-errors.ts";
import { gitTarget, requireRepository } from "./forge-services.ts";
import { headOwner } from "./head-repository.ts";
import { fullPullRequest } from "./pull-request-reply.ts";
import { pullRequestTips } from "./pull-request-tips.ts";
import { listBranches } from "./read-repository.ts";
import type { RestContext, RestReply } from "./rest-context.ts";

/**
 * `PATCH /repos/{owner}/{repo}/pulls/{pull_number}`: `title`, `body`, `state` (open|closed),
 * `base`. Closing keeps the branches' commits of that moment; a merged PR cannot be reopened.
 */
export async function updatePullRequest(context: RestContext): Promise<RestReply> {
  const { owner = "", repo = "" } = context.params;
  const number = pullNumber(context.params.pull_number);
  const { services } = context;
  await requireRepository(services, owner, repo);
  const input = await context.body();
  const title = optionalString(input, "title");
  const body = nullableString(input, "body");
  const wanted = optionalString(input, "state");
  const base = optionalString(input, "base");
  if (wanted !== undefined && wanted !== "open" && wanted !== "closed") {
    throw validationFailed({ resource: "PullRequest", field: "state", code: "invalid" });
  }
  if (title !== undefined && title.trim() === "") {
    throw validationFailed({ resource: "PullRequest", field: "title", code: "missing_field" });
  }
  const target = gitTarget(services, owner, repo);

  const { state, pull, branches } = await services.store.update(owner, repo, async (state) => {
    const pull = state.pulls.find((candidate) => candidate.number === number);
    if (!pull) throw notFound();
    const branches = await listBranches(target);
    if (base !== undefined && !branches.has(base)) {
      throw validationFailed({ resource: "PullRequest", field: "base", code: "invalid" });
    }
    if (wanted === "open" && pull.state === "closed") {
      // A fork's head is kept here (`refs/pull/<n>/head`); a branch of this one must still exist.
      const headGone = pull.head_repository === undefined && !branches.has(pull.head_ref);
      if (pull.merged_at !== null || headGone) {
        throw validationFailed({
          resource: "PullRequest",
          field: "state",
          code: "custom",
          message: "state cannot be changed.",
        });
      }
      const duplicate = state.pulls.find(
        (other) =>
          other.state === "open" &&
          other.head_ref === pull.head_ref &&
          other.head_repository === pull.head_repository &&
          other.base_ref === (base ?? pull.base_ref),
      );
      if (duplicate) {
        throw validationFailed({
          resource: "PullRequest",
          code: "custom",
          message: `A pull request already exists for ${headOwner(state, pull)}:${pull.head_ref}.`,
        });
      }
    }
    if (wanted === "closed" && pull.state === "open") {
      const tips = pullRequestTips(pull, branches);
      pull.head_sha = tips.headSha;
      pull.base_sha = tips.baseSha;
    }
    const at = services.now().toISOString();
    if (title !== undefined) pull.title = title;
    if (body !== undefined) pull.body = body;
    if (base !== undefined) pull.base_ref = base;
    if (wanted !== undefined && wanted !== pull.state) {
      pull.state = wanted;
      pull.closed_at = wanted === "closed" ? at : null;
    }
    pull.updated_at = at;
    return { state: structuredClone(state), pull: structuredClone(pull), branches };
  });
  return { status: 200, body: await fullPullRequest(services, state, pull, branches) };
}

/** A `pull_number` path segment: a positive whole number, else no such PR. */
export function pullNumber(segment: string | undefined): number {
  if (!segment || !/^[1-9][0-9]{0,9}$/.test(segment)) throw notFound();
  return Number(segment);
}
