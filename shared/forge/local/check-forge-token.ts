import { createHash, timingSafeEqual } from "node:crypto";
import type { AppRegistry, InstallationGrant, RegisteredApp } from "./app-registry.ts";
import { installationGitUser } from "./branch-protection.ts";
import { AppJwtError, looksLikeJwt, verifyAppJwt } from "./verify-app-jwt.ts";

/**
 * Who a request is: the forge's own token (a personal token with every right, as local mode's
 * owner), an App (a JWT it signed: only the App routes), or one of its installations (a `ghs_`
 * token: only its repositories, only its permissions, only until it expires).
 */
export type ForgePrincipal =
  | { kind: "personal" }
  | { kind: "app"; app: RegisteredApp }
  | { kind: "installation"; grant: InstallationGrant };

/**
 * Token checks of the forge. The personal token is compared on digests, so the comparison is
 * constant-time and says nothing about its length. REST takes `token X` or `Bearer X` as GitHub
 * does; git takes HTTP Basic with the token as the password (any user name, as GitHub's
 * `x-access-token`) or `Bearer X`. An App's JWT is good for REST only, as on GitHub.
 */
export interface TokenCheck {
  /** The principal, or GitHub's 401 message. */
  rest(header: string | undefined): ForgePrincipal | { refused: string };
  /** The principal and the user name git should see as REMOTE_USER, or undefined when refused. */
  git(header: string | undefined): { principal: ForgePrincipal; user: string } | undefined;
}

export function createTokenCheck(
  token: string,
  apps?: AppRegistry,
  now: () => Date = () => new Date(),
): TokenCheck {
  if (!token) throw new Error("the local forge needs a token");
  const expected = digest(token);
  const same = (candidate: string) => timingSafeEqual(digest(candidate), expected);
  const tokenPrincipal = (candidate: string): ForgePrincipal | undefined => {
    if (same(candidate)) return { kind: "personal" };
    const grant = apps?.grantOf(candidate);
    return grant ? { kind: "installation", grant } : undefined;
  };
  return {
    rest(header) {
      const match = /^(?:token|bearer)[ \t]+(\S+)[ \t]*$/i.exec(header ?? "");
      if (!match) return { refused: "Bad credentials" };
      const candidate = match[1]!;
      const principal = tokenPrincipal(candidate);
      if (principal) return principal;
      if (!apps || !looksLikeJwt(candidate)) return { refused: "Bad credentials" };
      try {
        return { kind: "app", app: verifyAppJwt(candidate, apps, now()) };
      } catch (error) {
        if (error instanceof AppJwtError) return { refused: error.message };
        throw error;
      }
    },
    git(header) {
      const bearer = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? "");
      if (bearer) {
        const principal = tokenPrincipal(bearer[1]!);
        return principal ? { principal, user: gitUser(principal, "x-access-token") } : undefined;
      }
      const basic = /^basic[ \t]+([A-Za-z0-9+/=]+)[ \t]*$/i.exec(header ?? "");
      if (!basic) return undefined;
      const decoded = Buffer.from(basic[1]!, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon === -1) return undefined;
      const user = decoded.slice(0, colon);
      const principal = tokenPrincipal(decoded.slice(colon + 1));
      if (!principal) return undefined;
      // The name is the client's to choose; it only reaches git's environment when harmless.
      const name = /^[A-Za-z0-9._-]{1,64}$/.test(user) ? user : "x-access-token";
      return { principal, user: gitUser(principal, name) };
    },
  };
}

/** An installation's pushes are known by the installation, whatever name the client sent. */
function gitUser(principal: ForgePrincipal, name: string): string {
  return principal.kind === "installation"
    ? installationGitUser(principal.grant.installationId)
    : name;
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}
