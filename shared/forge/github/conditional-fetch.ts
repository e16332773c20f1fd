import { BoundedLru } from "../../cache/bounded-lru.ts";

/**
 * Conditional requests (`If-None-Match`) for the forge client. GitHub does not charge a 304
 * against the rate limit, so a tick that asks for the same open-PR list and backlog every few
 * minutes costs nothing while they are unchanged. The cache keeps, per URL and `Accept`, the
 * last reply's `ETag`, status headers and body; it is meant to live as long as the process.
 */
export interface ResponseCache {
  get(key: string): CachedResponse | undefined;
  set(key: string, entry: CachedResponse): void;
  readonly stats: { notModified: number; stored: number };
}

export interface CachedResponse {
  etag: string;
  headers: [string, string][];
  body: ArrayBuffer;
}

/** Bodies kept in all; the least recently used go first. */
export const DEFAULT_RESPONSE_CACHE_BYTES = 64 * 1024 * 1024;
/** One body larger than this is not kept (a backlog of ~1,000 tasks is well below). */
const MAX_ENTRY_BYTES = 4 * 1024 * 1024;

export function createResponseCache(maxBytes = DEFAULT_RESPONSE_CACHE_BYTES): ResponseCache {
  const entries = new BoundedLru<CachedResponse>(maxBytes, MAX_ENTRY_BYTES);
  const stats = { notModified: 0, stored: 0 };
  return {
    get: (key) => entries.get(key),
    set(key, entry) {
      if (entries.set(key, entry, entry.body.byteLength)) stats.stored++;
    },
    stats,
  };
}

/** Headers a 304 brings fresh; the rest of the reply is the cached one's. */
const FRESH_ON_304 = /^(x-ratelimit-|x-github-request-id$|date$)/;

/**
 * `send` with conditional GETs: a cached reply's `ETag` goes out as `If-None-Match`, and a 304
 * comes back to the caller as that reply (status 200, the cached body, the 304's rate-limit
 * headers), so Octokit and its pagination see an ordinary answer. A 200 with an `ETag` is kept.
 * The forge checks the token before it compares tags, so keying by URL alone never hands one
 * credential's answer to another that could not read it.
 */
export function withConditionalRequests(
  send: typeof globalThis.fetch,
  cache: ResponseCache,
): typeof globalThis.fetch {
  return async (input, init) => {
    const method = (init?.method ?? "GET").toUpperCase();
    if (method !== "GET") return send(input, init);
    const headers = new Headers(init?.headers);
    const key = `${urlOf(input)}\n${headers.get("accept") ?? ""}`;
    const cached = cache.get(key);
    if (cached) headers.set("if-none-match", cached.etag);
    const response = await send(input, { ...init, headers });
    if (response.status === 304 && cached) {
      cache.stats.notModified++;
      const merged = new Headers(cached.headers);
      response.headers.forEach((value, name) => {
        if (FRESH_ON_304.test(name)) merged.set(name, value);
      });
      return new Response(cached.body.slice(0), { status: 200, headers: merged });
    }
    const etag = response.headers.get("etag");
    if (response.status !== 200 || !etag) return response;
    const body = await response.arrayBuffer();
    const kept: [string, string][] = [];
    response.headers.forEach((value, name) => {
      kept.push([name, value]);
    });
    cache.set(key, { etag, headers: kept, body });
    return new Response(body.slice(0), { status: 200, headers: response.headers });
  };
}

function urlOf(input: Parameters<typeof globalThis.fetch>[0]): string {
  return typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
}
