import type { IncomingMessage } from "node:http";
import { hasBearerToken, tokenDigest } from "../../net/check-bearer-token.ts";
import type { AppendItem } from "../../store/types.ts";
import {
  type AttemptTokenSubject,
  looksLikeAttemptToken,
  verifyAttemptToken,
} from "../../tokens/attempt-token.ts";
import { HttpError } from "./http-reply.ts";

/**
 * Who is asking: the operator's `CONTROL_PLANE_TOKEN`, which may do everything, or one attempt's
 * token, which may record that attempt's own lifecycle and read that attempt.
 */
export type Principal = { kind: "operator" } | { kind: "attempt"; attempt: AttemptTokenSubject };

/** The event types an attempt records about itself; nothing else is its to say. */
export const ATTEMPT_OWN_EVENT_TYPES: ReadonlySet<string> = new Set([
  "attempt.created",
  "attempt.started",
  "attempt.succeeded",
  "attempt.failed",
  "pr.created",
  "artifact.created",
]);

/** Checks bearer tokens against the control plane's own token, computed once. */
export function createAuthenticator(token: string): (req: IncomingMessage) => Principal | null {
  const expected = tokenDigest(token);
  return (req) => {
    const header = req.headers.authorization;
    if (hasBearerToken(header, expected)) return { kind: "operator" };
    const bearer = bearerValue(header);
    if (bearer === undefined || !looksLikeAttemptToken(bearer)) return null;
    const attempt = verifyAttemptToken(token, bearer);
    return attempt ? { kind: "attempt", attempt } : null;
  };
}

function bearerValue(header: string | undefined): string | undefined {
  return header === undefined ? undefined : /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header)?.[1];
}

/**
 * What an attempt token may do before its body is read: post events (checked one by one once
 * parsed, see `authorizeAppend`), and read its own attempt. Anything else is 403.
 */
export function authorizeRoute(
  principal: Principal,
  method: string,
  template: string,
  params: Record<string, string>,
): void {
  if (principal.kind === "operator") return;
  const own = principal.attempt;
  const allowed =
    (method === "POST" && (template === "/v1/events/ingest" || template === "/v1/events")) ||
    (method === "GET" && template === "/v1/attempts/:id" && params.id === own.attemptId);
  if (!allowed) throw forbidden(own, `may not ${method} ${template}`);
}

/**
 * Every event of an attempt token's request must be that attempt's own: its type one of the
 * attempt's lifecycle, its target and `payload.attempt_id` the token's, a `target_id` in the
 * payload, if any, the same, and its id the one the attempt itself gives it (`ownEventId`). One
 * event that is not refuses the whole request (nothing of it is stored).
 */
export function authorizeAppend(principal: Principal, items: readonly AppendItem[]): void {
  if (principal.kind === "operator") return;
  const own = principal.attempt;
  items.forEach((item, i) => {
    const problem = appendProblem(own, item);
    if (problem) throw forbidden(own, `event ${i} (${item.event.event_id}) ${problem}`);
  });
}

function appendProblem(own: AttemptTokenSubject, item: AppendItem): string | undefined {
  const { event } = item;
  const payload = event.payload;
  if (!ATTEMPT_OWN_EVENT_TYPES.has(event.event_type)) {
    return `is ${event.event_type}, which an attempt does not record`;
  }
  if (item.target !== own.targetId) return `is for target ${item.target}`;
  if (payload.attempt_id !== own.attemptId) return "is not about this attempt (payload.attempt_id)";
  if (payload.target_id !== undefined && payload.target_id !== own.targetId) {
    return "names another target (payload.target_id)";
  }
  const expected = ownEventId(own.attemptId, event.event_type, payload);
  if (event.event_id !== expected) return `must have the id ${expected}`;
  return undefined;
}

/**
 * The id an attempt's event must have: `<attempt id>.<type>`, and an artifact's digest after
 * that. Events are deduplicated by id, first write wins, so an attempt free to choose its ids
 * could take another attempt's (say its next `attempt.requested`) and have the real one dropped
 * as a duplicate. No two attempts' ids can coincide under this rule: each ends in a type name
 * or a digest, and no type is a dotted suffix of another.
 */
export function ownEventId(
  attemptId: string,
  eventType: string,
  payload: Readonly<Record<string, unknown>>,
): string {
  const base = `${attemptId}.${eventType}`;
  return eventType === "artifact.created" ? `${base}.${String(payload.sha256)}` : base;
}

/**
 * `GET /v1/attempts/:id` once the attempt is found: an attempt token reads its attempt only
 * under its own target (attempt ids are derived from their target, so an id recorded under
 * another target is not this token's attempt).
 */
export function authorizeAttemptRead(principal: Principal, targetId: string): void {
  if (principal.kind === "operator") return;
  const own = principal.attempt;
  if (targetId !== own.targetId) throw forbidden(own, `may not read an attempt of ${targetId}`);
}

function forbidden(own: AttemptTokenSubject, why: string): HttpError {
  return new HttpError(403, `the token of attempt ${own.attemptId} ${why}`);
}
