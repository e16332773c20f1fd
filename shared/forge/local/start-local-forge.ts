import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { createAppRegistry } from "./app-registry.ts";
import { createBlobCache } from "./blob-cache.ts";
import { protectBranch } from "./branch-protection.ts";
import { createTokenCheck } from "./check-forge-token.ts";
import { createCommitMemo } from "./commit-memo.ts";
import { createFaultInjector, type FaultRule } from "./fault-injector.ts";
import { ForgeHttpError } from "./forge-errors.ts";
import type { ForgeServices } from "./forge-services.ts";
import { serveGitHttp } from "./git-http-backend.ts";
import { pullRequestPage, repositoryPage } from "./html-pages.ts";
import { mergePullRequest } from "./merge-pull-request.ts";
import {
  createActionGuard,
  type PullRequestAction,
  runPullRequestAction,
} from "./pull-request-actions.ts";
import { createRateLimit } from "./rate-limit.ts";
import { refsChanged } from "./ref-generations.ts";
import { createRepositoryStore } from "./repository-store.ts";
import { gitRefusal } from "./route-access.ts";
import { DEFAULT_FORGE_GIT_TIMEOUT_MS } from "./run-forge-git.ts";
import { API_PREFIX, faultBody, githubHeaders, type RestServer, serveRest } from "./serve-rest.ts";
import type { ForgeRequest, LocalForge, LocalForgeOptions } from "./types.ts";

/** Requests kept for `LocalForge.requests`; older ones are dropped. */
const MAX_REQUEST_LOG = 10_000;
/** How long close() lets in-flight requests finish before cutting connections. */
const SHUTDOWN_GRACE_MS = 5_000;

const GIT_PATH = /^\/([^/]+)\/([^/]+)\.git(\/.*)$/;
const PULL_PAGE = /^\/([^/]+)\/([^/]+)\/pull\/([1-9][0-9]{0,9})$/;
const PULL_ACTION = /^\/([^/]+)\/([^/]+)\/pull\/([1-9][0-9]{0,9})\/(merge|close)$/;
const REPO_PAGE = /^\/([^/]+)\/([^/]+)$/;

/**
 * A GitHub-compatible forge on loopback for local mode: git smart HTTP through `git
 * http-backend` at `/<owner>/<repo>.git`, the REST routes Leviathan uses under `/api/v3`,
 * and HTML pages at PRs' `html_url`s, whose Merge and Close buttons do what the REST routes
 * do. Git and REST need the token; repositories and PR state live under `root` and survive
 * restarts.
 */
export async function startLocalForge(options: LocalForgeOptions): Promise<LocalForge> {
  const now = options.now ?? (() => new Date());
  const apps = createAppRegistry(now);
  const tokens = createTokenCheck(options.token, apps, now);
  const logger = options.logger;
  const gitTimeoutMs = options.gitTimeoutMs ?? DEFAULT_FORGE_GIT_TIMEOUT_MS;
  const store = createRepositoryStore({
    root: options.root,
    timeoutMs: gitTimeoutMs,
    ...(logger ? { logger } : {}),
  });
  const faults = createFaultInjector();
  const requests: ForgeRequest[] = [];
  // The URLs are known once the port is; the services object is completed then.
  const urls = { apiUrl: "", webUrl: "" };
  const services: ForgeServices = {
    store,
    urls,
    gitTimeoutMs,
    memo: createCommitMemo(),
    blobs: createBlobCache(),
    apps,
    ...(logger ? { logger } : {}),
    now,
  };
  const rest: RestServer = { services, tokens, rateLimit: createRateLimit() };
  const guard = createActionGuard();

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const method = req.method ?? "GET";
    const path = req.url ?? "/";
    const record = (status: number) => {
      requests.push({ method, path, status });
      if (requests.length > MAX_REQUEST_LOG) requests.splice(0, requests.length - MAX_REQUEST_LOG);
      const ms = Math.round(performance.now() - started);
      logger?.debug({ method, path, status, ms }, "forge request");
    };
    // On finish, a reply is in the log before its client can have read all of it; a reply cut
    // short (the client left, or git was stopped) is logged as 499 when the connection closes.
    res.once("finish", () => record(res.statusCode));
    res.once("close", () => {
      if (!res.writableFinished) record(499);
    });
    dispatch(req, res, method, path).catch((error: unknown) => {
      logger?.error(
        { err: error instanceof Error ? error.message : String(error) },
        "forge failed",
      );
      if (!res.headersSent) sendText(res, 500, "internal error\n");
      else res.destroy();
    });
  };

  async function dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    target: string,
  ): Promise<void> {
    const queryAt = target.indexOf("?");
    const pathname = queryAt === -1 ? target : target.slice(0, queryAt);
    const search = queryAt === -1 ? "" : target.slice(queryAt + 1);
    const isApi = pathname === API_PREFIX || pathname.startsWith(`${API_PREFIX}/`);

    const fault = faults.take(method, target);
    if (fault?.delayMs !== undefined && !(await holdRequest(res, fault.delayMs))) return;
    if (fault && (fault.status !== 0 || fault.reset)) {
      replyWithFault(req, res, fault, isApi);
      return;
    }
    if (isApi) {
      await serveRest(rest, req, res, pathname, search);
      return;
    }
    const git = GIT_PATH.exec(pathname);
    if (git) {
      await serveGit(req, res, git[1]!, git[2]!, git[3]!, search);
      return;
    }
    const action = PULL_ACTION.exec(pathname);
    if (action && method === "POST") {
      await servePullRequestAction(req, res, action);
      return;
    }
    const pull = method === "GET" || method === "HEAD" ? PULL_PAGE.exec(pathname) : null;
    const repo = method === "GET" || method === "HEAD" ? REPO_PAGE.exec(pathname) : null;
    const html = pull
      ? await pullRequestPage(services, guard, decode(pull[1]!), decode(pull[2]!), Number(pull[3]))
      : repo
        ? await repositoryPage(services, decode(repo[1]!), decode(repo[2]!))
        : undefined;
    if (html === undefined) sendText(res, 404, "Not Found\n");
    else sendText(res, 200, html, "text/html; charset=utf-8");
  }

  /** A Merge or Close button: done, then back to the PR's page (303); refused, the page says why. */
  async function servePullRequestAction(
    req: IncomingMessage,
    res: ServerResponse,
    match: RegExpExecArray,
  ): Promise<void> {
    const owner = decode(match[1]!);
    const repo = decode(match[2]!);
    const number = Number(match[3]);
    const location = `/${match[1]}/${match[2]}/pull/${number}`;
    try {
      await runPullRequestAction(services, guard, req, {
        owner,
        repo,
        number,
        action: match[4] as PullRequestAction,
      });
      res.writeHead(303, { location, "content-length": 0 });
      res.end();
    } catch (error) {
      if (!(error instanceof ForgeHttpError)) throw error;
      if (!req.complete) res.setHeader("connection", "close");
      const html = await pullRequestPage(services, guard, owner, repo, number, error.message);
      if (html === undefined) sendText(res, 404, "Not Found\n");
      else sendText(res, error.status, html, "text/html; charset=utf-8");
    }
  }

  async function serveGit(
    req: IncomingMessage,
    res: ServerResponse,
    owner: string,
    repo: string,
    rest: string,
    search: string,
  ): Promise<void> {
    const caller = tokens.git(req.headers.authorization);
    if (caller === undefined) {
      // Nothing of an unauthenticated body is read; the connection goes after the reply.
      if (!req.complete) res.setHeader("connection", "close");
      res.setHeader("www-authenticate", 'Basic realm="leviathan-forge"');
      sendText(res, 401, "Authentication required\n");
      return;
    }
    // An installation token reaches only its repositories, and pushes only with contents:write.
    const push =
      rest === "/git-receive-pack" || /(?:^|&)service=git-receive-pack(?:&|$)/.test(search);
    const refusal = gitRefusal(caller.principal, owner, repo, push);
    if (refusal) {
      if (!req.complete) res.setHeader("connection", "close");
      sendText(res, refusal.status, refusal.text);
      return;
    }
    if (!(await store.read(owner, repo))) {
      if (!req.complete) res.setHeader("connection", "close");
      sendText(res, 404, "Repository not found\n");
      return;
    }
    if (req.headers.expect?.toLowerCase() === "100-continue") res.writeContinue();
    try {
      await serveGitHttp({
        req,
        res,
        projectRoot: store.reposDir,
        pathInfo: `/${owner}/${repo}.git${rest}`,
        query: search,
        remoteUser: caller.user,
        timeoutMs: gitTimeoutMs,
        ...(logger ? { logger } : {}),
      });
    } finally {
      // A push moves refs; counting every request is simpler than telling them apart.
      refsChanged(store.gitDir(owner, repo));
    }
  }

  function replyWithFault(
    req: IncomingMessage,
    res: ServerResponse,
    fault: FaultRule,
    isApi: boolean,
  ): void {
    logger?.debug({ method: req.method, path: req.url, status: fault.status }, "injected fault");
    if (fault.reset) {
      req.socket.destroy();
      return;
    }
    const body =
      typeof fault.body === "string"
        ? fault.body
        : JSON.stringify(fault.body === undefined ? faultBody(fault.status) : fault.body);
    if (!req.complete) res.setHeader("connection", "close");
    res.writeHead(fault.status, {
      ...(isApi ? { ...rest.rateLimit.take(req.headers.authorization), ...githubHeaders() } : {}),
      "content-type":
        typeof fault.body === "string"
          ? "text/plain; charset=utf-8"
          : "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(body),
      ...fault.headers,
    });
    res.end(body);
  }

  // A push may stream for as long as git is allowed to run; nothing else takes that long.
  const server = createServer(
    { requestTimeout: gitTimeoutMs + 30_000, headersTimeout: 30_000 },
    handle,
  );
  // Answering `Expect: 100-continue` ourselves keeps a body unsent until the token is checked.
  server.on("checkContinue", handle);
  await listen(server, options.port ?? 0, options.host ?? "127.0.0.1");
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? "127.0.0.1";
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  urls.webUrl = url;
  urls.apiUrl = `${url}${API_PREFIX}`;
  logger?.info({ url, apiUrl: urls.apiUrl, root: options.root }, "local forge listening");

  let closing: Promise<void> | undefined;
  return {
    apiUrl: urls.apiUrl,
    url,
    gitUrl: (owner, repo) => `${url}/${owner}/${repo}.git`,
    createRepository: (owner, repo, createOptions = {}) => store.create(owner, repo, createOptions),
    registerApp: (appOptions) => {
      const app = apps.register(appOptions);
      return { id: app.id, slug: app.slug };
    },
    installApp: (appId, installOptions) => ({ id: apps.install(appId, installOptions).id }),
    protectBranch: async (owner, repo, branch) => {
      if (!(await store.read(owner, repo))) throw new Error(`no repository ${owner}/${repo}`);
      await protectBranch(store.gitDir(owner, repo), branch);
    },
    mergePullRequest: async (owner, repo, number) => {
      await mergePullRequest(services, owner, repo, number);
    },
    faults,
    rateLimitUsed: (token) => rest.rateLimit.used(`token ${token}`),
    get requests() {
      return requests;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        const grace = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
        grace.unref();
        server.close(() => {
          clearTimeout(grace);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

/**
 * Waits `ms` for a delay fault; false when the client went away meanwhile (nothing more to do).
 * A closing server cuts the connection after its grace period, which ends the wait too.
 */
function holdRequest(res: ServerResponse, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      res.off("close", onClose);
      resolve(true);
    }, ms);
    timer.unref();
    function onClose(): void {
      clearTimeout(timer);
      resolve(false);
    }
    res.once("close", onClose);
  });
}

/** A path segment as written in a URL; one that does not decode stays as it is (and matches nothing). */
function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  type = "text/plain; charset=utf-8",
) {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}
