import { validationFailed } from "./forge-errors.ts";
import { gitTarget, requireRepository } from "./forge-services.ts";
import { pullRequestSimpleObject } from "./github-objects.ts";
import { headOwner, headRepositoryOf } from "./head-repository.ts";
import { linkHeader, pageOf, parsePaging } from "./paginate.ts";
import { pullRequestTips } from "./pull-request-tips.ts";
import { listBranches } from "./read-repository.ts";
import type { RestContext, RestReply } from "./rest-context.ts";
import type { StoredPullRequest } from "./types.ts";

type Sort = "created" | "updated" | "popularity" | "long-running";

/**
 * `GET /repos/{owner}/{repo}/pulls`: `state` (open|closed|all, default open), `head`
 * (`owner:branch`), `base`, `sort` and `direction` with GitHub's defaults (newest first when
 * sorting by creation, else oldest first), `per_page` and `page` with a `Link` header.
 */
export async function listPullRequests(context: RestContext): Promise<RestReply> {
  const { owner = "", repo = "" } = context.params;
  const { query } = context;
  const state = await requireRepository(context.services, owner, repo);
  const wanted = oneOf(query, "state", ["open", "closed", "all"], "open");
  const sort = oneOf(
    query,
    "sort",
    ["created", "updated", "popularity", "long-running"],
    "created",
  );
  const direction = oneOf(query, "direction", ["asc", "desc"], sort === "created" ? "desc" : "asc");
  const paging = parsePaging(query);

  let pulls = state.pulls.filter((pull) => wanted === "all" || pull.state === wanted);
  const head = query.get("head");
  // GitHub ignores a head without its `owner:` part, and so does the forge: a client that
  // forgets it gets every PR here exactly as it would there.
  if (head?.includes(":")) {
    const colon = head.indexOf(":");
    const [by, branch] = [head.slice(0, colon), head.slice(colon + 1)];
    pulls = pulls.filter((pull) => headOwner(state, pull) === by && pull.head_ref === branch);
  } else if (head) {
    context.services.logger?.warn({ head }, "pulls: head without owner: ignored, as GitHub does");
  }
  const base = query.get("base");
  if (base) pulls = pulls.filter((pull) => pull.base_ref === base);
  pulls = sortPulls(pulls, sort, direction === "asc");

  const page = pageOf(pulls, paging);
  const branches =
    page.length > 0
      ? await listBranches(gitTarget(context.services, owner, repo))
      : new Map<string, string>();
  const body = await Promise.all(
    page.map(async (pull) =>
      pullRequestSimpleObject(
        context.services.urls,
        state,
        pull,
        pullRequestTips(pull, branches),
        await headRepositoryOf(context.services, state, pull),
      ),
    ),
  );
  const link = linkHeader(context.url, query, paging, pulls.length);
  return { status: 200, body, ...(link ? { headers: { link } } : {}) };
}

function sortPulls(pulls: StoredPullRequest[], sort: Sort, ascending: boolean) {
  const key = (pull: StoredPullRequest) => (sort === "updated" ? pull.updated_at : pull.created_at);
  // Ties (same millisecond) fall back to the number, so pages never overlap or skip.
  const sorted = [...pulls].sort((a, b) => key(a).localeCompare(key(b)) || a.number - b.number);
  return ascending ? sorted : sorted.reverse();
}

function oneOf<T extends string>(
  query: URLSearchParams,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const value = query.get(name);
  if (value === null || value === "") return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw validationFailed({ resource: "PullRequest", field: name, code: "invalid" });
  }
  return value as T;
}
