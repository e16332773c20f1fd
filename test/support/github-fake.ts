// A small GitHub REST responder on loopback for the forge client's tests: the four routes the
// client uses (list/get/create pulls, contents), Link pagination, a token check, and injected
// faults (any status and headers, or no answer at all). Every reply is recorded so a test can
// hold it against GitHub's OpenAPI description; PR objects start from GitHub's own examples.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach } from "vitest";
import {
  createGitHubForge,
  type GitHubForgeOptions,
} from "../../shared/forge/github/create-github-forge.ts";
import type { Forge } from "../../shared/forge/types.ts";
import { captureLogger } from "./capture-logger.ts";
import { assertGitHubExchange, gitHubExample } from "./openapi.ts";

export interface FakePull {
  number: number;
  title: string;
  body: string | null;
  head: string;
  base: string;
  state: "open" | "closed";
  merged?: boolean;
  /** `owner/name` of the repository the head branch lives in: a fork's; default the fake's own. */
  headRepo?: string;
}

export interface FakeRequest {
  method: string;
  /** The path without the base path and query, decoded per segment. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The request body as text ("" when none). */
  body: string;
}

export interface FakeReply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Never answer (the client's deadline must end it). */
  hang?: boolean;
}

export interface FakeExchange {
  method: string;
  /** As received, base path and query included. */
  url: string;
  status: number;
  contentType: string;
  body: string;
  /** route: the fake's GitHub behaviour; fault: injected; auth: the token check. */
  origin: "route" | "fault" | "auth";
  request: FakeRequest;
}

export interface GitHubFake {
  /** What the client's apiUrl should be (base path included). */
  apiUrl: string;
  basePath: string;
  pulls: FakePull[];
  /** File contents by `${ref}:${path}`. */
  files: Map<string, string>;
  exchanges: FakeExchange[];
  /** The next `times` requests that `when` accepts (default: any) get `reply` instead. */
  inject(
    reply: FakeReply,
    options?: { times?: number; when?: (request: FakeRequest) => boolean },
  ): void;
  close(): Promise<void>;
}

interface Injection {
  reply: FakeReply;
  remaining: number;
  when: (request: FakeRequest) => boolean;
}

const DOCS = "https://docs.github.com/rest";
/** GitHub's contents API carries base64 only up to 1 MB; larger files need the raw media type. */
const INLINE_CONTENT_LIMIT = 1024 * 1024;

export async function startGitHubFake(options: {
  owner: string;
  repo: string;
  token: string;
  basePath?: string;
}): Promise<GitHubFake> {
  const { owner, repo, token } = options;
  const basePath = (options.basePath ?? "").replace(/\/+$/, "");
  const pulls: FakePull[] = [];
  const files = new Map<string, string>();
  const exchanges: FakeExchange[] = [];
  const injections: Injection[] = [];
  const simpleTemplate = firstOf(gitHubExample("get", "/repos/{owner}/{repo}/pulls", 200));
  const fullTemplate = gitHubExample("get", "/repos/{owner}/{repo}/pulls/{pull_number}", 200);
  const fileTemplate = gitHubExample(
    "get",
    "/repos/{owner}/{repo}/contents/{path}",
    200,
    "response-if-content-is-a-file",
  );
  let origin = "";
  const repoPrefix = `/repos/${owner}/${repo}`;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", origin);
      const request: FakeRequest = {
        method: req.method ?? "GET",
        path: decodePath(
          url.pathname.startsWith(basePath) ? url.pathname.slice(basePath.length) : url.pathname,
        ),
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      const send = (reply: FakeReply, from: FakeExchange["origin"]) =>
        respond(res, reply, (status, contentType, body) =>
          exchanges.push({
            method: request.method,
            url: req.url ?? "/",
            status,
            contentType,
            body,
            origin: from,
            request,
          }),
        );
      const injection = injections.find((item) => item.remaining > 0 && item.when(request));
      if (injection) {
        injection.remaining--;
        if (injection.reply.hang) return;
        send(injection.reply, "fault");
        return;
      }
      if (!authorized(req.headers.authorization, token)) {
        send(
          {
            status: 401,
            body: { message: "Bad credentials", documentation_url: DOCS, status: "401" },
          },
          "auth",
        );
        return;
      }
      send(route(request), "route");
    });
  });

  function apiUrl(path: string): string {
    return `${origin}${basePath}${path}`;
  }

  function route(request: FakeRequest): FakeReply {
    if (!request.path.startsWith(`${repoPrefix}/`)) return notFound();
    const rest = request.path.slice(repoPrefix.length);
    if (rest === "/pulls" && request.method === "GET") return listPulls(request);
    if (rest === "/pulls" && request.method === "POST") return createPull(JSON.parse(request.body));
    const single = /^\/pulls\/(\d+)$/.exec(rest);
    if (single && request.method === "GET") {
      const pull = pulls.find((item) => item.number === Number(single[1]));
      return pull ? { status: 200, body: fullPull(pull) } : notFound();
    }
    if (rest.startsWith("/contents/") && request.method === "GET")
      return contents(request, rest.slice(10));
    return notFound();
  }

  function listPulls(request: FakeRequest): FakeReply {
    const state = request.query.get("state") ?? "open";
    const head = request.query.get("head");
    const perPage = Math.min(Number(request.query.get("per_page") ?? 30), 100);
    const page = Number(request.query.get("page") ?? 1);
    const matching = pulls.filter(
      (pull) =>
        (state === "all" || pull.state === state) &&
        (!head || `${headOwner(pull)}:${pull.head}` === head),
    );
    const pageItems = matching.slice((page - 1) * perPage, page * perPage);
    const last = Math.max(1, Math.ceil(matching.length / perPage));
    const headers: Record<string, string> = {};
    if (last > 1) {
      const link = (n: number, rel: string) => {
        const query = new URLSearchParams(request.query);
        query.set("page", String(n));
        return `<${apiUrl(`${repoPrefix}/pulls`)}?${query}>; rel="${rel}"`;
      };
      const links: string[] = [];
      if (page < last) links.push(link(page + 1, "next"), link(last, "last"));
      if (page > 1) links.push(link(1, "first"), link(page - 1, "prev"));
      headers.link = links.join(", ");
    }
    return { status: 200, headers, body: pageItems.map(simplePull) };
  }

  function createPull(input: {
    title?: string;
    body?: string;
    head?: string;
    base?: string;
  }): FakeReply {
    if (!input.title || !input.head || !input.base) {
      return {
        status: 422,
        body: { message: "Validation Failed", documentation_url: DOCS, status: "422" },
      };
    }
    if (
      pulls.some(
        (pull) => pull.state === "open" && pull.head === input.head && pull.base === input.base,
      )
    ) {
      return {
        status: 422,
        body: {
          message: "Validation Failed",
          errors: [
            {
              resource: "PullRequest",
              code: "custom",
              message: `A pull request already exists for ${owner}:${input.head}.`,
            },
          ],
          documentation_url: `${DOCS}/pulls/pulls#create-a-pull-request`,
          status: "422",
        },
      };
    }
    const pull: FakePull = {
      number: pulls.reduce((max, item) => Math.max(max, item.number), 0) + 1,
      title: input.title,
      body: input.body ?? null,
      head: input.head,
      base: input.base,
      state: "open",
    };
    pulls.push(pull);
    return {
      status: 201,
      headers: { location: apiUrl(`${repoPrefix}/pulls/${pull.number}`) },
      body: fullPull(pull),
    };
  }

  function contents(request: FakeRequest, path: string): FakeReply {
    const ref = request.query.get("ref") ?? "main";
    const text = files.get(`${ref}:${path}`);
    if (text === undefined) return notFound();
    const bytes = Buffer.from(text, "utf8");
    if ((request.headers.accept ?? "").includes("raw")) {
      return {
        status: 200,
        headers: { "content-type": "application/vnd.github.raw; charset=utf-8" },
        body: text,
      };
    }
    const large = bytes.length > INLINE_CONTENT_LIMIT;
    const file = structuredClone(fileTemplate) as Record<string, unknown>;
    Object.assign(file, {
      name: path.split("/").at(-1),
      path,
      size: bytes.length,
      encoding: large ? "none" : "base64",
      // GitHub wraps base64 at 60 characters.
      content: large ? "" : (bytes.toString("base64").match(/.{1,60}/g) ?? []).join("\n"),
      url: apiUrl(`${repoPrefix}/contents/${path}?ref=${ref}`),
    });
    return { status: 200, body: file };
  }

  function common(pull: FakePull): Record<string, unknown> {
    const merged = pull.state === "closed" && pull.merged === true;
    return {
      number: pull.number,
      title: pull.title,
      body: pull.body,
      state: pull.state,
      url: apiUrl(`${repoPrefix}/pulls/${pull.number}`),
      html_url: `${origin}/${owner}/${repo}/pull/${pull.number}`,
      closed_at: pull.state === "closed" ? "2024-01-02T00:00:00Z" : null,
      merged_at: merged ? "2024-01-02T00:00:00Z" : null,
      // GitHub's own examples list teams without the `type` its schema requires.
      requested_teams: [],
    };
  }

  function headOwner(pull: FakePull): string {
    return pull.headRepo?.split("/")[0] ?? owner;
  }

  /** Each side names its repository and its owner as GitHub does: a fork's head is the fork's. */
  function withRefs(target: Record<string, unknown>, pull: FakePull): Record<string, unknown> {
    const head = target.head as Record<string, unknown>;
    const base = target.base as Record<string, unknown>;
    const headRepo = pull.headRepo ?? `${owner}/${repo}`;
    Object.assign(head, {
      ref: pull.head,
      label: `${headOwner(pull)}:${pull.head}`,
      user: renamed(head.user, "octocat", headOwner(pull)),
      repo: repositoryNamed(head.repo, headRepo, pull.headRepo !== undefined),
    });
    Object.assign(base, {
      ref: pull.base,
      label: `${owner}:${pull.base}`,
      user: renamed(base.user, "octocat", owner),
      repo: repositoryNamed(base.repo, `${owner}/${repo}`, false),
    });
    return target;
  }

  function simplePull(pull: FakePull): Record<string, unknown> {
    const item = structuredClone(simpleTemplate) as Record<string, unknown>;
    return withRefs(Object.assign(item, common(pull)), pull);
  }

  function fullPull(pull: FakePull): Record<string, unknown> {
    const item = structuredClone(fullTemplate) as Record<string, unknown>;
    const merged = pull.state === "closed" && pull.merged === true;
    Object.assign(item, common(pull), { merged, merged_by: merged ? item.merged_by : null });
    return withRefs(item, pull);
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    apiUrl: `${origin}${basePath}`,
    basePath,
    pulls,
    files,
    exchanges,
    inject(reply, injectOptions = {}) {
      injections.push({
        reply,
        remaining: injectOptions.times ?? 1,
        when: injectOptions.when ?? (() => true),
      });
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/**
 * GitHub's example repository (`octocat/Hello-World`) renamed: every URL and name in it, its
 * owner included, and an id of its own, so two repositories of one reply differ as on GitHub.
 */
function repositoryNamed(example: unknown, fullName: string, fork: boolean): unknown {
  const [login = "", name = ""] = fullName.split("/");
  const text = JSON.stringify(example)
    .replaceAll("octocat/Hello-World", fullName)
    .replaceAll('"Hello-World"', JSON.stringify(name));
  const repository = renamed(JSON.parse(text), "octocat", login) as Record<string, unknown>;
  return Object.assign(repository, { fork, id: numericId(fullName), node_id: `R_${fullName}` });
}

/** A user object (or one holding one) with `login` and its URLs made another user's. */
function renamed(value: unknown, from: string, to: string): unknown {
  const text = JSON.stringify(value)
    .replaceAll(`"login":"${from}"`, `"login":${JSON.stringify(to)}`)
    .replaceAll(`/users/${from}`, `/users/${to}`)
    .replaceAll(`github.com/${from}"`, `github.com/${to}"`);
  return JSON.parse(text);
}

function numericId(text: string): number {
  let hash = 0;
  for (const char of text) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
  return (hash % 90_000_000) + 1_000_000;
}

function notFound(): FakeReply {
  return { status: 404, body: { message: "Not Found", documentation_url: DOCS, status: "404" } };
}

function authorized(header: string | undefined, token: string): boolean {
  const match = /^(?:token|bearer)\s+(.+)$/i.exec(header ?? "");
  return match?.[1] === token;
}

function decodePath(path: string): string {
  return path
    .split("/")
    .map((segment) => decodeURIComponent(segment))
    .join("/");
}

function firstOf(value: unknown): unknown {
  if (!Array.isArray(value) || value.length === 0)
    throw new Error("expected a non-empty example list");
  return value[0];
}

function respond(
  res: ServerResponse,
  reply: FakeReply,
  record: (status: number, contentType: string, body: string) => void,
): void {
  const headers = { ...reply.headers };
  const isText = typeof reply.body === "string";
  const body =
    reply.body === undefined ? "" : isText ? (reply.body as string) : JSON.stringify(reply.body);
  const contentType =
    headers["content-type"] ?? (reply.body === undefined ? "" : "application/json; charset=utf-8");
  if (contentType) headers["content-type"] = contentType;
  record(reply.status, contentType, body);
  res.writeHead(reply.status, headers);
  res.end(body);
}

/**
 * Holds every reply the fake's routes and token check sent against GitHub's description and
 * returns how many were checked. Injected faults are the test's own; raw-media replies are
 * skipped because GitHub's description documents only the JSON form of the contents API.
 */
export function assertRepliesMatchGitHub(fake: GitHubFake): number {
  let checked = 0;
  for (const exchange of fake.exchanges) {
    if (exchange.origin !== "route") continue;
    if (!exchange.contentType.startsWith("application/json")) continue;
    assertGitHubExchange({
      method: exchange.method,
      path: exchange.url,
      basePath: fake.basePath,
      status: exchange.status,
      body: exchange.body,
      contentType: exchange.contentType,
    });
    checked++;
  }
  return checked;
}

export interface FakeWithForge {
  fake: GitHubFake;
  /** The production client, pointed at the fake with its token. */
  forge: Forge;
  token: string;
  /** What the client logged. */
  lines: string[];
}

/**
 * For a test file: each call starts a fake of `acme/radix` with a fresh token and the production
 * client on it (`defaults`, then the call's options); the fake is closed after each test.
 */
export function useGitHubFakeWithForge(
  defaults: Partial<GitHubForgeOptions> = {},
): (options?: Partial<GitHubForgeOptions>, basePath?: string) => Promise<FakeWithForge> {
  let current: GitHubFake | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return async (options = {}, basePath) => {
    const token = `test-token-${randomBytes(8).toString("hex")}`;
    const fake = await startGitHubFake({
      owner: "acme",
      repo: "radix",
      token,
      ...(basePath ? { basePath } : {}),
    });
    current = fake;
    const { logger, lines } = captureLogger();
    const forge = createGitHubForge({
      apiUrl: fake.apiUrl,
      owner: "acme",
      repo: "radix",
      token,
      logger,
      ...defaults,
      ...options,
    });
    return { fake, forge, token, lines };
  };
}
