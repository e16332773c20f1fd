import type { PullRequest } from "../types.ts";

/** The fields we read, common to GitHub's `pull-request-simple` (lists) and `pull-request`. */
interface GitHubPullRequest {
  number: number;
  html_url: string;
  state: string;
  merged_at: string | null;
  title: string;
  body: string | null;
  head: { ref: string };
  base: { ref: string };
}

/** GitHub's PR as ours: `merged` from `merged_at`, which lists carry too (unlike `merged`). */
export function toPullRequest(pull: GitHubPullRequest): PullRequest {
  if (pull.state !== "open" && pull.state !== "closed") {
    throw new Error(`PR #${pull.number} has an unknown state ${JSON.stringify(pull.state)}`);
  }
  return {
    number: pull.number,
    html_url: pull.html_url,
    state: pull.state,
    merged: pull.merged_at !== null && pull.merged_at !== undefined,
    title: pull.title,
    body: pull.body ?? null,
    head_ref: pull.head.ref,
    base_ref: pull.base.ref,
  };
}
