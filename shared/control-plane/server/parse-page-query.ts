import type { ValidationDetail } from "../../events/schema.ts";
import { unprocessable } from "./http-reply.ts";

export const DEFAULT_PAGE_LIMIT = 1_000;
export const MAX_PAGE_LIMIT = 10_000;

export interface PageQuery {
  /** Exclusive; 0 starts at the beginning. */
  after: number;
  limit: number;
}

const DIGITS = /^[0-9]{1,16}$/;

/**
 * `GET /v1/events?after=&limit=`. `after` is a whole number ≥ 0 (omitted: 0);
 * `limit` a whole number ≥ 1 (omitted: 1,000; larger than 10,000: cut to 10,000). Anything
 * else — empty, signed, fractional, non-numeric, repeated — is a 422 naming the parameter:
 * a client that sends `limit=0` or `after=-1` has a bug worth hearing about, and a page of
 * nothing would let a paging loop spin forever. Other parameters are ignored.
 */
export function parsePageQuery(query: URLSearchParams): PageQuery {
  const details: ValidationDetail[] = [];
  const read = (name: string, fallback: number, min: number): number => {
    const values = query.getAll(name);
    if (values.length === 0) return fallback;
    const [value = ""] = values;
    if (values.length > 1) {
      details.push({ path: name, message: `${name} must be given at most once` });
      return fallback;
    }
    const number = DIGITS.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(number) || number < min) {
      details.push({ path: name, message: `${name} must be a whole number ≥ ${min}` });
      return fallback;
    }
    return number;
  };
  const after = read("after", 0, 0);
  const limit = read("limit", DEFAULT_PAGE_LIMIT, 1);
  if (details.length > 0) throw unprocessable(details);
  return { after, limit: Math.min(limit, MAX_PAGE_LIMIT) };
}
