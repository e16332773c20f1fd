import { APP_ROUTES } from "./app-routes.ts";
import { optionalString } from "./body-fields.ts";
import { checkMergeAllowed } from "./branch-protection.ts";
import { createPullRequest } from "./create-pull-request.ts";
import { notFound, validationFailed } from "./forge-errors.ts";
import { gitTarget, requireRepository } from "./forge-services.ts";
import { repositoryObject } from "./github-objects.ts";
import { listPullRequests } from "./list-pull-requests.ts";
import { type MergeRequest, mergePullRequest } from "./merge-pull-request.ts";
import { fullPullRequest } from "./pull-request-reply.ts";
import { readContents } from "./read-contents.ts";
import { listBranches } from "./read-repository.ts";
import type { RestContext, RestReply, RestRoute } from "./rest-context.ts";
import type { RouteAccess } from "./route-access.ts";
import { pullNumber, updatePullRequest } from "./update-pull-request.ts";

const REPO = "^/repos/([^/]+)/([^/]+)";

const read = (permission: string): RouteAccess => ({
  kind: "repository",
  permission,
  level: "read",
});
const write = (permission: string): RouteAccess => ({
  kind: "repository",
  permission,
  level: "write",
});

/**
 * The REST routes Leviathan uses, in GitHub's paths (after the API prefix), each with the
 * permission GitHub's tables name for it (merging is `contents: write` there too), and the
 * App routes.
 */
export const REST_ROUTES: readonly RestRoute[] = [
  {
    method: "PATCH",
    pattern: new RegExp(`${REPO}$`),
    names: ["owner", "repo"],
    access: write("administration"),
    handler: updateRepository,
  },
  {
    method: "GET",
    pattern: new RegExp(`${REPO}$`),
    names: ["owner", "repo"],
    access: read("metadata"),
    handler: getRepository,
  },
  {
    method: "GET",
    pattern: new RegExp(`${REPO}/pulls$`),
    names: ["owner", "repo"],
    access: read("pull_requests"),
    handler: listPullRequests,
  },
  {
    method: "POST",
    pattern: new RegExp(`${REPO}/pulls$`),
    names: ["owner", "repo"],
    access: write("pull_requests"),
    handler: createPullRequest,
  },
  {
    method: "GET",
    pattern: new RegExp(`${REPO}/pulls/([^/]+)$`),
    names: ["owner", "repo", "pull_number"],
    access: read("pull_requests"),
    handler: getPullRequest,
  },
  {
    method: "PATCH",
    pattern: new RegExp(`${REPO}/pulls/([^/]+)$`),
    names: ["owner", "repo", "pull_number"],
    access: write("pull_requests"),
    handler: updatePullRequest,
  },
  {
    method: "PUT",
    pattern: new RegExp(`${REPO}/pulls/([^/]+)/merge$`),
    names: ["owner", "repo", "pull_number"],
    access: write("contents"),
    handler: mergeRoute,
  },
  {
    method: "GET",
    pattern: new RegExp(`${REPO}/contents(?:/(.*))?$`),
    names: ["owner", "repo", "path"],
    access: read("contents"),
    handler: readContents,
  },
  ...APP_ROUTES,
];

async function getRepository(context: RestContext): Promise<RestReply> {
  const { owner = "", repo = "" } = context.params;
  const state = await requireRepository(context.services, owner, repo);
  return { status: 200, body: repositoryObject(context.services.urls, state) };
}

async function getPullRequest(context: RestContext): Promise<RestReply> {
  const { owner = "", repo = "" } = context.params;
  const number = pullNumber(context.params.pull_number);
  const state = await requireRepository(context.services, owner, repo);
  const pull = state.pulls.find((candidate) => candidate.number === number);
  if (!pull) throw notFound();
  const branches = await listBranches(gitTarget(context.services, owner, repo));
  return { status: 200, body: await fullPullRequest(context.services, state, pull, branches) };
}

async function mergeRoute(context: RestContext): Promise<RestReply> {
  const { owner = "", repo = "" } = context.params;
  const number = pullNumber(context.params.pull_number);
  const body = await context.body();
  const request: MergeRequest = {};
  const title = optionalString(body, "commit_title");
  const message = optionalString(body, "commit_message");
  const sha = optionalString(body, "sha");
  const method = optionalString(body, "merge_method");
  if (title !== undefined) request.commit_title = title;
  if (message !== undefined) request.commit_message = message;
  if (sha !== undefined) request.sha = sha;
  if (method !== undefined) request.merge_method = method;
  // An App's token cannot merge into a protected branch, whatever its permissions.
  const state = await requireRepository(context.services, owner, repo);
  const pull = state.pulls.find((candidate) => candidate.number === number);
  if (pull) {
    await checkMergeAllowed(
      context.principal,
      context.services.store.gitDir(owner, repo),
      pull.base_ref,
    );
  }
  const result = await mergePullRequest(context.services, owner, repo, number, request);
  return { status: 200, body: result };
}

/**
 * `PATCH /repos/{owner}/{repo}`: a repository's settings. Only `default_branch` (to a branch
 * that exists) is kept; other fields are accepted and ignored. Needs `administration: write`.
 */
async function updateRepository(context: RestContext): Promise<RestReply> {
  const { owner = "", repo = "" } = context.params;
  await requireRepository(context.services, owner, repo);
  const body = await context.body();
  const branch = optionalString(body, "default_branch", "Repository");
  if (branch !== undefined) {
    const branches = await listBranches(gitTarget(context.services, owner, repo));
    if (!branches.has(branch)) {
      throw validationFailed({ resource: "Repository", field: "default_branch", code: "invalid" });
    }
  }
  const state = await context.services.store.update(owner, repo, async (draft) => {
    if (branch !== undefined) draft.default_branch = branch;
    return draft;
  });
  return { status: 200, body: repositoryObject(context.services.urls, state) };
}
