import type { Logger } from "../../log/logger.ts";
import type { InstallAppOptions, RegisterAppOptions } from "./app-registry.ts";
import type { FaultInjector } from "./fault-injector.ts";

export interface LocalForgeOptions {
  /** Bare repositories and PR state live here and survive restarts. */
  root: string;
  /**
   * The forge's own token, a personal token with every right (local mode's owner). Registered
   * Apps' JWTs and their installation tokens are accepted beside it, each within its rights.
   */
  token: string;
  /** Default 127.0.0.1: the forge serves loopback only. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  logger?: Logger;
  /** How long one `git http-backend` or plumbing command may run; default 120 s. */
  gitTimeoutMs?: number;
  /** The forge's clock (token and JWT expiry, timestamps); default the system's. */
  now?: () => Date;
}

export interface CreateRepositoryOptions {
  /** This folder's files become the first commit (its `.gitignore` is honoured). */
  fromDir?: string;
  /** Default `main`. */
  defaultBranch?: string;
}

/** One answered request, for tests and local mode's output. */
export interface ForgeRequest {
  method: string;
  /** The request target as received: path and query. */
  path: string;
  status: number;
}

export interface LocalForge {
  /** The REST base (`github_api_url`), e.g. `http://127.0.0.1:PORT/api/v3`. */
  readonly apiUrl: string;
  /** The loopback origin, e.g. `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** `http://127.0.0.1:PORT/<owner>/<repo>.git`, what `target_repo_url` is set to. */
  gitUrl(owner: string, repo: string): string;
  /** Idempotent: an existing repository is left as it is (`created: false`). */
  createRepository(
    owner: string,
    repo: string,
    options?: CreateRepositoryOptions,
  ): Promise<{ created: boolean }>;
  /**
   * Registers a GitHub App by its public key (in memory: a restarted forge forgets it). Its
   * JWTs (RS256, `iss` = the id) then reach the App routes.
   */
  registerApp(options: RegisterAppOptions): { id: number; slug: string };
  /**
   * Installs an App on an account, for some (`repositories`) or all of its repositories, with
   * these permissions (`metadata: read` is always added); its tokens are narrowed from these.
   */
  installApp(appId: number, options: InstallAppOptions): { id: number };
  /**
   * Protects a branch as GitHub does for Apps: installation tokens can neither push to it nor
   * merge a PR into it (405); the forge's own token, the admin, still may. Kept on disk.
   */
  protectBranch(owner: string, repo: string, branch: string): Promise<void>;
  /** Merges as `PUT /repos/{owner}/{repo}/pulls/{n}/merge` does; throws `ForgeHttpError`. */
  mergePullRequest(owner: string, repo: string, number: number): Promise<void>;
  /** In-process only: never reachable over HTTP. */
  readonly faults: FaultInjector;
  /** Rate-limit points this token has spent in its current hour (a 304 spends none). */
  rateLimitUsed(token: string): number;
  /** The most recent requests (at most 10,000), oldest first. */
  readonly requests: ReadonlyArray<ForgeRequest>;
  close(): Promise<void>;
}

/** A pull request as the forge keeps it on disk. */
export interface StoredPullRequest {
  number: number;
  title: string;
  body: string | null;
  state: "open" | "closed";
  head_ref: string;
  /**
   * `owner/name` of the repository the head branch is in, when it is another one (a fork):
   * its commit is fetched into this repository as `refs/pull/<number>/head`, as GitHub does, and
   * stays the PR's head (the forge does not follow later pushes to the fork). Absent: this one.
   */
  head_repository?: string;
  /** The head's commit when last seen (live from the branch while a same-repository PR is open). */
  head_sha: string;
  base_ref: string;
  base_sha: string;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  merged_at: string | null;
  merge_commit_sha: string | null;
}

/** Everything the forge keeps about one repository besides its git objects. */
export interface RepositoryState {
  version: 1;
  id: number;
  owner: string;
  name: string;
  default_branch: string;
  created_at: string;
  /** The number the next PR gets (GitHub shares numbers with issues; here only PRs use them). */
  next_number: number;
  pulls: StoredPullRequest[];
}
