import type { PullRequest } from "../types.ts";

/** The fields we read, common to GitHub's `pull-request-simple` (lists) and `pull-request`. */
interface GitHubPullRequest {
  number: number;
  html_url: string;
  state: "open" | "closed";
  merged_at?: string | null;
  title: string;
  body?: string | null;
  head: { ref: string; repo: { full_name: string } | null };
  base: { ref: string };
}

/**
 * GitHub's PR as ours: `merged` from `merged_at`, which lists carry too (unlike `merged`).
 * Checked field by field: a forge that answers something else must fail loudly, not yield a PR
 * with an undefined head that no rule would count.
 */
export function toPullRequest(value: unknown): PullRequest {
  if (!isGitHubPullRequest(value)) {
    throw new Error(`the forge sent something that is not a pull request: ${describe(value)}`);
  }
  return {
    number: value.number,
    html_url: value.html_url,
    state: value.state,
    merged: typeof value.merged_at === "string",
    title: value.title,
    body: value.body ?? null,
    head_ref: value.head.ref,
    head_repo: value.head.repo?.full_name ?? null,
    base_ref: value.base.ref,
  };
}

function isGitHubPullRequest(value: unknown): value is GitHubPullRequest {
  if (typeof value !== "object" || value === null) return false;
  const pull = value as Record<string, unknown>;
  return (
    Number.isInteger(pull.number) &&
    typeof pull.html_url === "string" &&
    (pull.state === "open" || pull.state === "closed") &&
    typeof pull.title === "string" &&
    (pull.body === undefined || pull.body === null || typeof pull.body === "string") &&
    (pull.merged_at === undefined ||
      pull.merged_at === null ||
      typeof pull.merged_at === "string") &&
    hasRef(pull.head) &&
    hasRepository(pull.head) &&
    hasRef(pull.base)
  );
}

/** Whose branch the head is decides whether the PR counts: it must be said, even as null. */
function hasRepository(side: unknown): boolean {
  const repo = (side as { repo?: unknown }).repo;
  return (
    repo === null ||
    (typeof repo === "object" &&
      repo !== undefined &&
      typeof (repo as { full_name?: unknown }).full_name === "string")
  );
}

function hasRef(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { ref?: unknown }).ref === "string"
  );
}

/** Which keys came, never their values (a body may quote anything). */
function describe(value: unknown): string {
  if (typeof value !== "object" || value === null) return typeof value;
  return `an object with keys ${Object.keys(value).slice(0, 8).join(", ") || "(none)"}`;
}
