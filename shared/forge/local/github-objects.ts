import type { ChangeStats } from "./read-repository.ts";
import type { RepositoryState, StoredPullRequest } from "./types.ts";

/**
 * GitHub's REST objects, filled in for the local forge so they validate against GitHub's
 * published schemas (`pull-request`, `pull-request-simple`, `full-repository`, `content-file`).
 * URLs point at the forge: API URLs under `apiUrl`, web URLs under `webUrl`.
 */
export interface ForgeUrls {
  /** e.g. `http://127.0.0.1:PORT/api/v3` */
  apiUrl: string;
  /** e.g. `http://127.0.0.1:PORT` */
  webUrl: string;
}

/** The user every token acts as: it opens and merges every PR. */
export const FORGE_USER_LOGIN = "leviathan";

export function userObject(urls: ForgeUrls, login: string, type: "User" | "Organization") {
  const api = `${urls.apiUrl}/users/${login}`;
  return {
    login,
    id: smallId(login),
    node_id: nodeId("U", login),
    avatar_url: `${urls.webUrl}/${login}.png`,
    gravatar_id: "",
    url: api,
    html_url: `${urls.webUrl}/${login}`,
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
    type,
    site_admin: false,
  };
}

export function repositoryObject(urls: ForgeUrls, state: RepositoryState) {
  const fullName = `${state.owner}/${state.name}`;
  const api = `${urls.apiUrl}/repos/${fullName}`;
  const html = `${urls.webUrl}/${fullName}`;
  const host = new URL(urls.webUrl).host;
  const openPulls = state.pulls.filter((pull) => pull.state === "open").length;
  // ISO 8601 UTC times sort as text: the latest change to the repository's PRs.
  const updated = [state.created_at, ...state.pulls.map((pull) => pull.updated_at)].sort().at(-1);
  return {
    id: state.id,
    node_id: nodeId("R", fullName),
    name: state.name,
    full_name: fullName,
    owner: userObject(urls, state.owner, "Organization"),
    private: true,
    visibility: "private",
    html_url: html,
    description: null,
    fork: false,
    url: api,
    archive_url: `${api}/{archive_format}{/ref}`,
    assignees_url: `${api}/assignees{/user}`,
    blobs_url: `${api}/git/blobs{/sha}`,
    branches_url: `${api}/branches{/branch}`,
    collaborators_url: `${api}/collaborators{/collaborator}`,
    comments_url: `${api}/comments{/number}`,
    commits_url: `${api}/commits{/sha}`,
    compare_url: `${api}/compare/{base}...{head}`,
    contents_url: `${api}/contents/{+path}`,
    contributors_url: `${api}/contributors`,
    deployments_url: `${api}/deployments`,
    downloads_url: `${api}/downloads`,
    events_url: `${api}/events`,
    forks_url: `${api}/forks`,
    git_commits_url: `${api}/git/commits{/sha}`,
    git_refs_url: `${api}/git/refs{/sha}`,
    git_tags_url: `${api}/git/tags{/sha}`,
    git_url: `git://${host}/${fullName}.git`,
    issue_comment_url: `${api}/issues/comments{/number}`,
    issue_events_url: `${api}/issues/events{/number}`,
    issues_url: `${api}/issues{/number}`,
    keys_url: `${api}/keys{/key_id}`,
    labels_url: `${api}/labels{/name}`,
    languages_url: `${api}/languages`,
    merges_url: `${api}/merges`,
    milestones_url: `${api}/milestones{/number}`,
    notifications_url: `${api}/notifications{?since,all,participating}`,
    pulls_url: `${api}/pulls{/number}`,
    releases_url: `${api}/releases{/id}`,
    ssh_url: `git@${host}:${fullName}.git`,
    stargazers_url: `${api}/stargazers`,
    statuses_url: `${api}/statuses/{sha}`,
    subscribers_url: `${api}/subscribers`,
    subscription_url: `${api}/subscription`,
    tags_url: `${api}/tags`,
    teams_url: `${api}/teams`,
    trees_url: `${api}/git/trees{/sha}`,
    clone_url: `${html}.git`,
    mirror_url: null,
    hooks_url: `${api}/hooks`,
    svn_url: html,
    homepage: null,
    language: null,
    forks: 0,
    forks_count: 0,
    stargazers_count: 0,
    watchers_count: 0,
    watchers: 0,
    size: 0,
    default_branch: state.default_branch,
    open_issues: openPulls,
    open_issues_count: openPulls,
    is_template: false,
    topics: [],
    has_issues: true,
    has_projects: false,
    has_wiki: false,
    has_pages: false,
    has_downloads: false,
    has_discussions: false,
    archived: false,
    disabled: false,
    pushed_at: updated,
    created_at: state.created_at,
    updated_at: updated,
    permissions: { admin: true, maintain: true, push: true, triage: true, pull: true },
    allow_rebase_merge: false,
    allow_squash_merge: true,
    allow_merge_commit: true,
    allow_auto_merge: false,
    delete_branch_on_merge: false,
    allow_forking: false,
    web_commit_signoff_required: false,
    license: null,
    network_count: 0,
    subscribers_count: 0,
  };
}

/** A PR's branch tips: live from the repository while it is open, as stored once closed. */
export interface PullRequestTips {
  headSha: string;
  baseSha: string;
}

/** The list form (`pull-request-simple`); `headState` is the head's repository (a fork's). */
export function pullRequestSimpleObject(
  urls: ForgeUrls,
  state: RepositoryState,
  pull: StoredPullRequest,
  tips: PullRequestTips,
  headState: RepositoryState = state,
) {
  const fullName = `${state.owner}/${state.name}`;
  const api = `${urls.apiUrl}/repos/${fullName}`;
  const self = `${api}/pulls/${pull.number}`;
  const html = pullRequestHtmlUrl(urls, state.owner, state.name, pull.number);
  const issue = `${api}/issues/${pull.number}`;
  const side = (of: RepositoryState, ref: string, sha: string) => ({
    label: `${of.owner}:${ref}`,
    ref,
    sha,
    user: userObject(urls, of.owner, "Organization"),
    repo: repositoryObject(urls, of),
  });
  return {
    url: self,
    id: state.id * 100_000 + pull.number,
    node_id: nodeId("PR", `${fullName}#${pull.number}`),
    html_url: html,
    diff_url: `${html}.diff`,
    patch_url: `${html}.patch`,
    issue_url: issue,
    commits_url: `${self}/commits`,
    review_comments_url: `${self}/comments`,
    review_comment_url: `${api}/pulls/comments{/number}`,
    comments_url: `${issue}/comments`,
    statuses_url: `${api}/statuses/${tips.headSha}`,
    number: pull.number,
    state: pull.state,
    locked: false,
    title: pull.title,
    user: userObject(urls, FORGE_USER_LOGIN, "User"),
    body: pull.body,
    labels: [],
    milestone: null,
    active_lock_reason: null,
    created_at: pull.created_at,
    updated_at: pull.updated_at,
    closed_at: pull.closed_at,
    merged_at: pull.merged_at,
    merge_commit_sha: pull.merge_commit_sha,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    head: side(headState, pull.head_ref, tips.headSha),
    base: side(state, pull.base_ref, tips.baseSha),
    _links: {
      self: { href: self },
      html: { href: html },
      issue: { href: issue },
      comments: { href: `${issue}/comments` },
      review_comments: { href: `${self}/comments` },
      review_comment: { href: `${api}/pulls/comments{/number}` },
      commits: { href: `${self}/commits` },
      statuses: { href: `${api}/statuses/${tips.headSha}` },
    },
    author_association: "OWNER",
    auto_merge: null,
    draft: false,
  };
}

/** Whether the head merges cleanly into the base: null while unknown (closed PRs). */
export type Mergeability = boolean | null;

/** The full form (`pull-request`) of a single PR. */
export function pullRequestObject(
  urls: ForgeUrls,
  state: RepositoryState,
  pull: StoredPullRequest,
  tips: PullRequestTips,
  stats: ChangeStats,
  mergeable: Mergeability,
  headState: RepositoryState = state,
) {
  const merged = pull.merged_at !== null;
  return {
    ...pullRequestSimpleObject(urls, state, pull, tips, headState),
    merged,
    mergeable,
    rebaseable: false,
    mergeable_state: mergeable === null ? "unknown" : mergeable ? "clean" : "dirty",
    merged_by: merged ? userObject(urls, FORGE_USER_LOGIN, "User") : null,
    comments: 0,
    review_comments: 0,
    maintainer_can_modify: false,
    commits: stats.commits,
    additions: stats.additions,
    deletions: stats.deletions,
    changed_files: stats.changedFiles,
  };
}

export function pullRequestHtmlUrl(
  urls: ForgeUrls,
  owner: string,
  repo: string,
  number: number,
): string {
  return `${urls.webUrl}/${owner}/${repo}/pull/${number}`;
}

/** One entry of the contents API: a file with its content, or a directory listing's item. */
export interface ContentEntry {
  type: "file" | "dir" | "symlink" | "submodule";
  path: string;
  sha: string;
  size: number;
}

export function contentObject(
  urls: ForgeUrls,
  state: RepositoryState,
  ref: string,
  entry: ContentEntry,
) {
  const fullName = `${state.owner}/${state.name}`;
  const api = `${urls.apiUrl}/repos/${fullName}`;
  const encodedPath = entry.path.split("/").map(encodeURIComponent).join("/");
  const self = `${api}/contents/${encodedPath}?ref=${encodeURIComponent(ref)}`;
  const git = `${api}/git/${entry.type === "dir" ? "trees" : "blobs"}/${entry.sha}`;
  const html = `${urls.webUrl}/${fullName}/${entry.type === "dir" ? "tree" : "blob"}/${encodeURIComponent(ref)}/${encodedPath}`;
  return {
    type: entry.type,
    size: entry.size,
    name: entry.path.slice(entry.path.lastIndexOf("/") + 1),
    path: entry.path,
    sha: entry.sha,
    url: self,
    git_url: git,
    html_url: html,
    // The forge serves no raw downloads; clients read `content` (or ask for the raw media type).
    download_url: null,
    _links: { self, git, html },
  };
}

/** GitHub wraps base64 content at 60 characters, each line ending in a newline. */
export function wrapBase64(bytes: Buffer): string {
  const text = bytes.toString("base64");
  let out = "";
  for (let at = 0; at < text.length; at += 60) out += `${text.slice(at, at + 60)}\n`;
  return out;
}

function smallId(text: string): number {
  let hash = 0;
  for (const char of text) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
  return (hash % 90_000_000) + 1_000_000;
}

function nodeId(kind: string, text: string): string {
  return `${kind}_${Buffer.from(text).toString("base64url")}`;
}
