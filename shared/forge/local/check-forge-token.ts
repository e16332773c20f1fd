import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Token checks of the forge. Both sides are hashed first, so the comparison is constant-time
 * and says nothing about the token's length. REST takes `token X` or `Bearer X` as GitHub
 * does; git takes HTTP Basic with the token as the password (any user name, as GitHub's
 * `x-access-token`) or `Bearer X`.
 */
export interface TokenCheck {
  rest(header: string | undefined): boolean;
  /** The user name git should see as REMOTE_USER, or undefined when the token is wrong. */
  git(header: string | undefined): string | undefined;
}

export function createTokenCheck(token: string): TokenCheck {
  if (!token) throw new Error("the local forge needs a token");
  const expected = digest(token);
  const same = (candidate: string) => timingSafeEqual(digest(candidate), expected);
  return {
    rest(header) {
      const match = /^(?:token|bearer)[ \t]+(\S+)[ \t]*$/i.exec(header ?? "");
      return match !== null && same(match[1]!);
    },
    git(header) {
      const bearer = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? "");
      if (bearer) return same(bearer[1]!) ? "x-access-token" : undefined;
      const basic = /^basic[ \t]+([A-Za-z0-9+/=]+)[ \t]*$/i.exec(header ?? "");
      if (!basic) return undefined;
      const decoded = Buffer.from(basic[1]!, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon === -1) return undefined;
      const user = decoded.slice(0, colon);
      if (!same(decoded.slice(colon + 1))) return undefined;
      // The name is the client's to choose; it only reaches git's environment when harmless.
      return /^[A-Za-z0-9._-]{1,64}$/.test(user) ? user : "x-access-token";
    },
  };
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}
