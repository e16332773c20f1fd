import type { IncomingHttpHeaders } from "node:http";
import type { ForgePrincipal } from "./check-forge-token.ts";
import type { ForgeServices } from "./forge-services.ts";
import type { RouteAccess } from "./route-access.ts";

/** What a REST handler sees of its request. */
export interface RestContext {
  services: ForgeServices;
  params: Record<string, string>;
  /** Who asked; the route's `access` has been checked already. */
  principal: ForgePrincipal;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The absolute URL of the request without its query, for `Link` headers. */
  url: string;
  /** The JSON body as an object; `{}` when there is none. */
  body(): Promise<Record<string, unknown>>;
}

/** What a REST handler answers: JSON, or raw bytes with their own content type. */
export interface RestReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  raw?: { bytes: Buffer; contentType: string };
}

export type RestHandler = (context: RestContext) => Promise<RestReply>;

export interface RestRoute {
  method: "GET" | "POST" | "PATCH" | "PUT";
  /** Checked before the handler runs (and before the body is read). */
  access: RouteAccess;
  /** Matched against the path after the API prefix; groups become `names`, percent-decoded. */
  pattern: RegExp;
  names: readonly string[];
  handler: RestHandler;
}
