/**
 * What Leviathan needs from a forge. `forge/github` implements it on Octokit and talks to
 * api.github.com, GitHub Enterprise or the local forge alike (only `github_api_url` differs).
 */
export interface PullRequest {
  number: number;
  html_url: string;
  state: "open" | "closed";
  merged: boolean;
  title: string;
  body: string | null;
  head_ref: string;
  /**
   * `owner/name` of the repository the head branch lives in: the target's own for its branches,
   * a fork's for a PR from a fork, null when the forge no longer knows it (a deleted fork).
   */
  head_repo: string | null;
  base_ref: string;
}

/** A file's text and git blob sha at a ref. */
export interface FileAtRef {
  text: string;
  sha: string;
}

export interface CreatePullRequest {
  title: string;
  body: string;
  head: string;
  base: string;
}

export interface Forge {
  /** Every open PR of the repository, all pages. */
  listOpenPullRequests(): Promise<PullRequest[]>;
  getPullRequest(number: number): Promise<PullRequest>;
  /** An open PR whose head is this branch of the same repository, if any. */
  findOpenPullRequest(head: string): Promise<PullRequest | null>;
  createPullRequest(input: CreatePullRequest): Promise<PullRequest>;
  /** A file's text at a branch through the contents API (no clone); null when it is absent. */
  readFile(path: string, ref: string): Promise<string | null>;
  /** `readFile` with the file's git blob sha, which names its content (for caches). */
  readFileWithSha(path: string, ref: string): Promise<FileAtRef | null>;
  /** HTTP requests made so far (retries included), for the tick's request budget. */
  readonly requestCount: number;
}

/**
 * Where a forge client gets its token when it is not one fixed string: a GitHub App's
 * installation tokens, minted when needed and renewed before they expire.
 */
export interface TokenSource {
  /** A token good for the next request. */
  token(): Promise<string>;
  /** The tokens handed out so far that may still be alive: kept out of every message. */
  readonly issued: readonly string[];
}

/** A personal token (`GITHUB_TOKEN`) or an App's token source. */
export type GitHubCredential = string | TokenSource;

/** The forge could not answer (network, 5xx after retries, auth): callers fail safe. */
export class ForgeUnavailableError extends Error {
  override readonly name = "ForgeUnavailableError";
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}
