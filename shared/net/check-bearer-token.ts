import { createHash, timingSafeEqual } from "node:crypto";

/** A digest of the expected token, computed once, so each request compares equal lengths. */
export function tokenDigest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/**
 * `Authorization: Bearer <token>` with the scheme in any case (RFC 7235). Both sides are hashed
 * first, so `timingSafeEqual` always compares equal-length buffers and the time taken says
 * nothing about the token's length or how much of it matched.
 */
export function hasBearerToken(header: string | undefined, expected: Buffer): boolean {
  if (header === undefined) return false;
  const match = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (!match) return false;
  return timingSafeEqual(tokenDigest(match[1]!), expected);
}
