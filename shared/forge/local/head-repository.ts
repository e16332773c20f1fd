import { validationFailed } from "./forge-errors.ts";
import type { ForgeServices } from "./forge-services.ts";
import type { RepositoryState, StoredPullRequest } from "./types.ts";

/** Where a PR's head branch lives: the repository itself, or another one of the forge (a fork). */
export interface HeadSide {
  owner: string;
  name: string;
  ref: string;
  /** True when the head is another repository's branch. */
  fork: boolean;
}

/**
 * A PR's `head` as GitHub reads it: `branch` or `owner:branch`, the owner's repository of the
 * same name (or `head_repo`'s) when the owner is not this repository's. Undefined for a head
 * that names no branch.
 */
export function parseHead(
  head: string,
  state: RepositoryState,
  headRepo: string | undefined,
): HeadSide | undefined {
  const colon = head.indexOf(":");
  const owner = colon === -1 ? state.owner : head.slice(0, colon);
  const ref = colon === -1 ? head : head.slice(colon + 1);
  if (ref === "" || owner === "") return undefined;
  const name = headRepo ?? state.name;
  const fork = owner !== state.owner || name !== state.name;
  return { owner, name, ref, fork };
}

/** `owner/name` of the PR's head repository. */
export function headFullName(state: RepositoryState, pull: StoredPullRequest): string {
  return pull.head_repository ?? `${state.owner}/${state.name}`;
}

/** The owner whose branch the head is, as `head=owner:branch` names it. */
export function headOwner(state: RepositoryState, pull: StoredPullRequest): string {
  return headFullName(state, pull).split("/")[0] ?? state.owner;
}

/** The state of the repository the PR's head lives in (the repository's own for most PRs). */
export async function headRepositoryOf(
  services: ForgeServices,
  state: RepositoryState,
  pull: StoredPullRequest,
): Promise<RepositoryState> {
  if (pull.head_repository === undefined) return state;
  const [owner = "", name = ""] = pull.head_repository.split("/");
  const head = await services.store.read(owner, name);
  // The forge deletes no repository, so a fork it recorded is still there.
  if (!head) throw new Error(`the head repository ${pull.head_repository} is gone`);
  return head;
}

/** A 422 for a head that names no branch of an existing repository, as GitHub answers it. */
export function invalidHead(): Error {
  return validationFailed({ resource: "PullRequest", field: "head", code: "invalid" });
}
