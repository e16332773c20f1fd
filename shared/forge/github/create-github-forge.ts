import { retry } from "@octokit/plugin-retry";
import { throttling } from "@octokit/plugin-throttling";
import { Octokit } from "@octokit/rest";
import type { Logger } from "../../log/logger.ts";
import { redact } from "../../log/logger.ts";
import type { CreatePullRequest, FileAtRef, Forge, GitHubCredential } from "../types.ts";
import { type ResponseCache, withConditionalRequests } from "./conditional-fetch.ts";
import { createCountingFetch } from "./counting-fetch.ts";
import {
  isNotFound,
  isUnprocessable,
  PullRequestRejectedError,
  toForgeUnavailable,
} from "./forge-errors.ts";
import { shouldWaitForRateLimit } from "./rate-limit-policy.ts";
import { toPullRequest } from "./to-pull-request.ts";

export interface GitHubForgeOptions {
  /** https://api.github.com, https://host/api/v3 (GitHub Enterprise) or the local forge. */
  apiUrl: string;
  owner: string;
  repo: string;
  /** A personal token, or a source of (App installation) tokens asked before each request. */
  token: GitHubCredential;
  /** Per HTTP request; default 15 s. */
  timeoutMs?: number;
  /** Retries of a request after a 5xx, a network error, a timeout or a rate limit; default 3. */
  retries?: number;
  /** Never wait longer for one rate limit (then ForgeUnavailableError); default 60. */
  maxRateLimitWaitSeconds?: number;
  /** First backoff after a 5xx; the n-th retry waits n² times this. Default 1 s (Octokit's). */
  retryBaseDelayMs?: number;
  /**
   * How long one second of a rate-limit wait lasts, in ms; default 1000 (tests shrink it). The
   * throttling plugin reads a secondary limit without `retry-after`, or with `retry-after: 0`,
   * as its 60 s fallback, which `maxRateLimitWaitSeconds` still bounds.
   */
  rateLimitSecondMs?: number;
  logger?: Logger;
  userAgent?: string;
  /**
   * Replies kept for conditional requests (`If-None-Match`): an unchanged answer is a 304,
   * which costs no rate limit. Shared by every forge of the process that is given it.
   */
  responseCache?: ResponseCache;
}

const ForgeOctokit = Octokit.plugin(throttling, retry);

/** Statuses retrying cannot fix; 429 is left to the throttling plugin, which honours its advice. */
const DO_NOT_RETRY = [400, 401, 403, 404, 410, 422, 429, 451];

/**
 * The `Forge` on GitHub's REST API through Octokit: rate limits honoured (bounded waits),
 * 5xx and network errors retried with backoff, a deadline per request, every request counted.
 * Any failure a caller cannot act on is a `ForgeUnavailableError` without the token in it.
 */
export function createGitHubForge(options: GitHubForgeOptions): Forge {
  const { owner, repo, token: credential, logger } = options;
  // Every token this client may have sent, for redaction: one fixed string, or the source's.
  const secrets = (): readonly string[] =>
    typeof credential === "string" ? [credential] : credential.issued;
  const retries = options.retries ?? 3;
  // Counted outside the cache: a 304 is a request sent, even if it costs no rate limit.
  const network = createCountingFetch({
    timeoutMs: options.timeoutMs ?? 15_000,
    ...(logger ? { logger } : {}),
    ...(options.responseCache
      ? { fetch: withConditionalRequests(globalThis.fetch, options.responseCache) }
      : {}),
  });
  const rateLimits = { retries, maxWaitSeconds: options.maxRateLimitWaitSeconds ?? 60 };
  const baseUrl = options.apiUrl.replace(/\/+$/, "");
  const octokit = new ForgeOctokit({
    ...(typeof credential === "string" ? { auth: credential } : {}),
    baseUrl,
    userAgent: options.userAgent ?? "leviathan",
    request: { fetch: network.fetch },
    log: octokitLog(logger, secrets),
    throttle: {
      // Pace writes per API host, not across every forge in the process.
      id: baseUrl,
      retryAfterBaseValue: options.rateLimitSecondMs ?? 1_000,
      onRateLimit: (after, request, _octokit, count) =>
        shouldWaitForRateLimit(rateLimits, "primary", after, count, request, logger),
      onSecondaryRateLimit: (after, request, _octokit, count) =>
        shouldWaitForRateLimit(rateLimits, "secondary", after, count, request, logger),
    },
    retry: {
      retries,
      doNotRetry: DO_NOT_RETRY,
      retryAfterBaseValue: options.retryBaseDelayMs ?? 1_000,
    },
  });

  if (typeof credential !== "string") {
    // Asked before each request (retries included): a source renews its token near expiry.
    octokit.hook.before("request", async (request) => {
      request.headers.authorization = `token ${await credential.token()}`;
    });
  }

  /** One forge operation; the request count in its error assumes calls are not interleaved. */
  async function call<T>(what: string, run: () => Promise<T>): Promise<T> {
    const before = network.count;
    try {
      return await run();
    } catch (error) {
      // A refusal is an answer the attempt acts on, not an outage.
      if (error instanceof PullRequestRejectedError) throw error;
      throw toForgeUnavailable(error, {
        what,
        requests: network.count - before,
        secrets: secrets(),
      });
    }
  }

  const repository = `${owner}/${repo}`;
  return {
    listOpenPullRequests: () =>
      call(`listing the open PRs of ${repository}`, async () => {
        const pulls = await octokit.paginate(octokit.rest.pulls.list, {
          owner,
          repo,
          state: "open",
          per_page: 100,
        });
        return expectList(pulls).map(toPullRequest);
      }),

    getPullRequest: (number) =>
      call(`reading PR #${number} of ${repository}`, async () => {
        const { data } = await octokit.rest.pulls.get({ owner, repo, pull_number: number });
        return toPullRequest(data);
      }),

    findOpenPullRequest: (head) =>
      call(`finding the open PR for ${head} in ${repository}`, async () => {
        const pulls = await octokit.paginate(octokit.rest.pulls.list, {
          owner,
          repo,
          state: "open",
          head: `${owner}:${head}`,
          per_page: 100,
        });
        // Filtered again here: a forge that ignores `head` must not hand back another PR, nor
        // one from a fork whose branch has the same name.
        const found = expectList(pulls)
          .map(toPullRequest)
          .find(
            (pull) =>
              pull.head_ref === head &&
              pull.state === "open" &&
              pull.head_repo?.toLowerCase() === repository.toLowerCase(),
          );
        return found ?? null;
      }),

    createPullRequest: (input: CreatePullRequest) => {
      const what = `creating a PR from ${input.head} into ${input.base} in ${repository}`;
      return call(what, async () => {
        try {
          const { data } = await octokit.rest.pulls.create({ owner, repo, ...input });
          return toPullRequest(data);
        } catch (error) {
          if (!isUnprocessable(error)) throw error;
          const message = redact(`${what}: refused (HTTP 422): ${error.message}`, secrets());
          throw new PullRequestRejectedError(message, /already exists/i.test(error.message));
        }
      });
    },

    readFile: async (path, ref) => (await readFileAt(path, ref))?.text ?? null,

    readFileWithSha: (path, ref) => readFileAt(path, ref),

    get requestCount() {
      return network.count;
    },
  };

  function readFileAt(path: string, ref: string): Promise<FileAtRef | null> {
    return call(`reading ${path} at ${ref} of ${repository}`, async () => {
      try {
        return await readText(path, ref);
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    });
  }

  /** The contents API: base64 in JSON up to 1 MB; larger files only through the raw media type. */
  async function readText(path: string, ref: string): Promise<FileAtRef | null> {
    const { data } = await octokit.rest.repos.getContent({ owner, repo, path, ref });
    // A folder (a list) or a submodule there: no file of that name to read.
    if (Array.isArray(data)) return null;
    if (typeof data !== "object" || data === null) {
      throw new Error(`the forge answered with something other than contents for ${path}`);
    }
    if (data.type !== "file") return null;
    const sha = data.sha;
    if ("encoding" in data && data.encoding === "base64" && typeof data.content === "string") {
      return { text: Buffer.from(data.content, "base64").toString("utf8"), sha };
    }
    const raw = await octokit.rest.repos.getContent({
      owner,
      repo,
      path,
      ref,
      mediaType: { format: "raw" },
    });
    const body: unknown = raw.data;
    if (typeof body === "string") return { text: body, sha };
    if (body instanceof ArrayBuffer) return { text: Buffer.from(body).toString("utf8"), sha };
    throw new Error(`unexpected raw reply for ${path}`);
  }
}

/** Octokit's types promise a list; a forge's reply (or a cut-short body) may not be one. */
function expectList<T>(value: T[]): T[] {
  if (!Array.isArray(value)) throw new Error("the forge answered with something other than a list");
  return value;
}

/**
 * Octokit's own messages into our log, token removed. Its per-request lines (and the error line
 * of an expected 404) are noise at info/error: they go to debug; its warnings stay warnings.
 * Objects it passes along (request options, with headers) are left out, never stringified.
 */
function octokitLog(logger: Logger | undefined, secrets: () => readonly string[]) {
  const write =
    (level: "debug" | "warn") =>
    (message: unknown, ...rest: unknown[]) => {
      const text = [message, ...rest].filter((item) => typeof item === "string").join(" ");
      if (text) logger?.[level](redact(`octokit: ${text}`, secrets()));
    };
  return {
    debug: write("debug"),
    info: write("debug"),
    warn: write("warn"),
    error: write("debug"),
  };
}
