import { type AccessLevel, allows, reaches } from "./app-registry.ts";
import type { ForgePrincipal } from "./check-forge-token.ts";
import { ForgeHttpError, notFound } from "./forge-errors.ts";

/**
 * Who may call a route, as GitHub's permission tables say: a repository route needs one
 * permission at one level on that repository (metadata:read comes with every installation);
 * App routes need the App's JWT; installation routes an installation token. The forge's own
 * (personal) token may do everything but the App routes.
 */
export type RouteAccess =
  | { kind: "repository"; permission: string; level: AccessLevel }
  | { kind: "app" }
  | { kind: "installation" };

export const NOT_ACCESSIBLE = "Resource not accessible by integration";

/** Throws GitHub's refusal when `principal` may not call a route with `access` on `params`. */
export function authorize(
  principal: ForgePrincipal,
  access: RouteAccess,
  params: Readonly<Record<string, string>>,
): void {
  if (access.kind === "app") {
    if (principal.kind !== "app") {
      throw new ForgeHttpError(401, "A JSON web token could not be decoded");
    }
    return;
  }
  if (access.kind === "installation") {
    if (principal.kind !== "installation") {
      throw new ForgeHttpError(
        403,
        "You must authenticate with an installation access token in order to list repositories for an installation.",
      );
    }
    return;
  }
  if (principal.kind === "personal") return;
  if (principal.kind === "app") throw new ForgeHttpError(403, NOT_ACCESSIBLE);
  const { grant } = principal;
  // A repository the token does not reach does not exist, as far as the token can tell.
  if (!reaches(grant, params.owner ?? "", params.repo ?? "")) throw notFound();
  if (access.permission === "metadata" && access.level === "read") return;
  if (!allows(grant.permissions[access.permission], access.level)) {
    throw new ForgeHttpError(403, NOT_ACCESSIBLE);
  }
}

/** What git over HTTP may do with a principal: fetch needs contents:read, push contents:write. */
export function gitRefusal(
  principal: ForgePrincipal,
  owner: string,
  repo: string,
  push: boolean,
): { status: number; text: string } | undefined {
  if (principal.kind === "personal") return undefined;
  if (principal.kind === "app") return { status: 401, text: "Authentication required\n" };
  const { grant } = principal;
  if (!reaches(grant, owner, repo)) return { status: 404, text: "Repository not found\n" };
  if (!allows(grant.permissions.contents, push ? "write" : "read")) {
    return {
      status: 403,
      text: push
        ? "Write access to repository not granted.\n"
        : "Read access to repository not granted.\n",
    };
  }
  return undefined;
}
