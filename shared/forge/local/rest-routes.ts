import { optionalString } from "./body-fields.ts";
import { createPullRequest } from "./create-pull-request.ts";
import { notFound } from "./forge-errors.ts";
import { gitTarget, requireRepository } from "./forge-services.ts";
import { repositoryObject } from "./github-objects.ts";
import { listPullRequests } from "./list-pull-requests.ts";
import { type MergeRequest, mergePullRequest } from "./merge-pull-request.ts";
import { fullPullRequest } from "./pull-request-reply.ts";
import { readContents } from "./read-contents.ts";
import { listBranches } from "./read-repository.ts";
import type { RestContext, RestReply, RestRoute } from "./rest-context.ts";
import { pullNumber, updatePullRequest } from "./update-pull-request.ts";

const REPO = "^/repos/([^/]+)/([^/]+)";

/** The REST routes Leviathan uses, in GitHub's paths (after the API prefix). */
export const REST_ROUTES: readonly RestRoute[] = [
  {
    method: "GET",
    pattern: new RegExp(`${REPO}$`),
    names: ["owner", "repo"],
    handler: getRepository,
  },
  {
    method: "GET",
    pattern: new RegExp(`${REPO}/pulls$`),
    names: ["owner", "repo"],
    handler: listPullRequests,
  },
  {
    method: "POST",
    pattern: new RegExp(`${REPO}/pulls$`),
    names: ["owner", "repo"],
    handler: createPullRequest,
  },
  {
    method: "GET",
    pattern: new RegExp(`${REPO}/pulls/([^/]+)$`),
    names: ["owner", "repo", "pull_number"],
    handler: getPullRequest,
  },
  {
    method: "PATCH",
    pattern: new RegExp(`${REPO}/pulls/([^/]+)$`),
    names: ["owner", "repo", "pull_number"],
    handler: updatePullRequest,
  },
  {
    method: "PUT",
    pattern: new RegExp(`${REPO}/pulls/([^/]+)/merge$`),
    names: ["owner", "repo", "pull_number"],
    handler: mergeRoute,
  },
  {
    method: "GET",
    pattern: new RegExp(`${REPO}/contents(?:/(.*))?$`),
    names: ["owner", "repo", "path"],
    handler: readContents,
  },
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
  const result = await mergePullRequest(context.services, owner, repo, number, request);
  return { status: 200, body: result };
}
