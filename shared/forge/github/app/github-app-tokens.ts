import { createAppAuth } from "@octokit/auth-app";
import { Octokit } from "@octokit/rest";
import { errorMessage } from "../../../errors/error-message.ts";
import type { Logger } from "../../../log/logger.ts";
import { redact } from "../../../log/logger.ts";
import { withRetries } from "../../../net/with-retries.ts";
import type { TokenSource } from "../../types.ts";
import { createCountingFetch } from "../counting-fetch.ts";

export type AppPermissionLevel = "read" | "write";
export type AppTokenPermissions = Readonly<Record<string, AppPermissionLevel>>;

/** What the tick may do with the target: read its PRs and its backlog, nothing else. */
export const TICK_PERMISSIONS: AppTokenPermissions = {
  contents: "read",
  pull_requests: "read",
  metadata: "read",
};

/** What one attempt may do with the target: push its branch and open its PR. */
export const ATTEMPT_PERMISSIONS: AppTokenPermissions = {
  contents: "write",
  pull_requests: "write",
};

export interface GitHubAppSettings {
  appId: number;
  /** Looked up from the repository (`GET /repos/{owner}/{repo}/installation`) when absent. */
  installationId?: number;
  /** PEM, as GitHub hands it out. */
  privateKey: string;
  /** `github_api_url`. */
  apiUrl: string;
  owner: string;
  repo: string;
}

export interface InstallationToken {
  token: string;
  expiresAt: Date;
}

/**
 * The App could not give a token (not installed there, key refused, GitHub down …). Its HTTP
 * status is `httpStatus`, not `status`, so no caller mistakes it for the forge's own answer.
 */
export class GitHubAppTokenError extends Error {
  override readonly name = "GitHubAppTokenError";
  constructor(
    message: string,
    readonly httpStatus?: number,
  ) {
    super(message);
  }
}

export interface GitHubAppTokens {
  /** A new token limited to the target repository and these permissions. */
  mint(permissions: AppTokenPermissions): Promise<InstallationToken>;
  /**
   * A source that hands out one token with these permissions until `renewBeforeMs` before it
   * expires, then mints the next: what a long-lived process (the tick) asks on every request.
   */
  cached(permissions: AppTokenPermissions, renewBeforeMs?: number): TokenSource;
}

export interface GitHubAppTokensOptions {
  /** Per HTTP request; default 15 s. */
  timeoutMs?: number;
  /** Tries of one mint or lookup after a network error or a 5xx; default 3. */
  attempts?: number;
  retryBaseDelayMs?: number;
  logger?: Logger;
  now?: () => Date;
}

/** Renew this long before a cached token expires: no request starts with a dying token. */
export const DEFAULT_RENEW_BEFORE_MS = 5 * 60 * 1000;

/**
 * Installation tokens of a GitHub App for one repository, through `@octokit/auth-app`: the
 * App's JWT (signed with its private key) finds the installation, once, and each token asks for
 * that one repository (`repositories: [repo]`) and only the permissions named. The private key
 * never leaves this object; errors never carry a token or the JWT.
 */
export function createGitHubAppTokens(
  settings: GitHubAppSettings,
  options: GitHubAppTokensOptions = {},
): GitHubAppTokens {
  const now = options.now ?? (() => new Date());
  const network = createCountingFetch({
    timeoutMs: options.timeoutMs ?? 15_000,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const octokit = new Octokit({
    baseUrl: settings.apiUrl.replace(/\/+$/, ""),
    userAgent: "leviathan",
    request: { fetch: network.fetch },
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
  });
  const auth = createAppAuth({
    appId: settings.appId,
    privateKey: settings.privateKey,
    request: octokit.request,
  });
  const repository = `${settings.owner}/${settings.repo}`;
  const issued: string[] = [];
  let installationId: Promise<number> | undefined = settings.installationId
    ? Promise.resolve(settings.installationId)
    : undefined;

  function retried<T>(what: string, call: () => Promise<T>): Promise<T> {
    return withRetries(call, {
      attempts: options.attempts ?? 3,
      baseDelayMs: options.retryBaseDelayMs ?? 200,
      retryable: (error) => statusOf(error) === undefined || (statusOf(error) ?? 0) >= 500,
      onRetry: (error, attempt) =>
        options.logger?.warn({ err: describe(error), attempt }, `retrying: ${what}`),
    }).catch((error: unknown) => {
      throw new GitHubAppTokenError(
        `GitHub App ${settings.appId}: ${what}: ${describe(error)}`,
        statusOf(error),
      );
    });
  }

  function describe(error: unknown): string {
    const status = statusOf(error);
    const text = redact(errorMessage(error), issued);
    return status === undefined ? text : `HTTP ${status}: ${text}`;
  }

  function findInstallation(): Promise<number> {
    installationId ??= retried(`finding its installation on ${repository}`, async () => {
      const { token } = await auth({ type: "app" });
      const { data } = await octokit.request("GET /repos/{owner}/{repo}/installation", {
        owner: settings.owner,
        repo: settings.repo,
        headers: { authorization: `bearer ${token}` },
      });
      return data.id;
    }).catch((error: unknown) => {
      // Not remembered: the next call asks again (the App may be installed meanwhile).
      installationId = undefined;
      throw error;
    });
    return installationId;
  }

  async function mint(permissions: AppTokenPermissions): Promise<InstallationToken> {
    const installation = await findInstallation();
    const names = Object.keys(permissions).join(", ");
    const result = await retried(`minting a token for ${repository} (${names})`, () =>
      auth({
        type: "installation",
        installationId: installation,
        repositoryNames: [settings.repo],
        permissions: { ...permissions },
        // Always a new token: expiry is this module's to manage (auth-app's cache is by age).
        refresh: true,
      }),
    );
    issued.push(result.token);
    if (issued.length > 100) issued.splice(0, issued.length - 100);
    return { token: result.token, expiresAt: new Date(result.expiresAt) };
  }

  const sources = new Map<string, TokenSource>();
  return {
    mint,
    cached(permissions, renewBeforeMs = DEFAULT_RENEW_BEFORE_MS) {
      // One source per permissions and margin: every caller shares its token.
      const key = `${JSON.stringify(Object.entries(permissions).sort())}|${renewBeforeMs}`;
      const found = sources.get(key);
      if (found) return found;
      let current: InstallationToken | undefined;
      let pending: Promise<InstallationToken> | undefined;
      const source: TokenSource = {
        async token() {
          if (current && current.expiresAt.getTime() - renewBeforeMs > now().getTime()) {
            return current.token;
          }
          pending ??= mint(permissions).finally(() => {
            pending = undefined;
          });
          current = await pending;
          return current.token;
        },
        get issued() {
          return issued;
        },
      };
      sources.set(key, source);
      return source;
    },
  };
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === "number" ? status : undefined;
}
