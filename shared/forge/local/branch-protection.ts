import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ForgePrincipal } from "./check-forge-token.ts";
import { ForgeHttpError } from "./forge-errors.ts";

/**
 * Branch protection as the part of GitHub's that matters to an App: a protected branch takes
 * changes only through a reviewed pull request, and an App's installation token cannot bypass
 * that — it can neither push to the branch nor merge a PR into it (GitHub: 405 for the merge,
 * "GH006" for the push). The forge's own token is the repository's admin and may, as GitHub's
 * admins may when bypassing is allowed. The list lives in the bare repository, so it survives
 * restarts; a `pre-receive` hook enforces it on pushes.
 */
const PROTECTED_FILE = "leviathan-protected-refs";

/** `REMOTE_USER` of a push made with an installation token: the hook knows it by this. */
export function installationGitUser(installationId: number): string {
  return `installation-${installationId}`;
}

const PRE_RECEIVE = `#!/bin/sh
# Written by the local forge: installation tokens cannot update a protected branch.
case "$REMOTE_USER" in
  installation-*) ;;
  *) exit 0 ;;
esac
refused=0
while read -r old new ref; do
  if grep -qxF "$ref" "${PROTECTED_FILE}" 2>/dev/null; then
    echo "error: GH006: Protected branch update failed for $ref." >&2
    echo "error: Changes must be made through a pull request." >&2
    refused=1
  fi
done
exit $refused
`;

export async function protectBranch(gitDir: string, branch: string): Promise<void> {
  const refs = await protectedRefs(gitDir);
  refs.add(`refs/heads/${branch}`);
  await writeFile(join(gitDir, PROTECTED_FILE), `${[...refs].sort().join("\n")}\n`);
  await mkdir(join(gitDir, "hooks"), { recursive: true });
  const hook = join(gitDir, "hooks", "pre-receive");
  await writeFile(hook, PRE_RECEIVE);
  await chmod(hook, 0o755);
}

export async function protectedRefs(gitDir: string): Promise<Set<string>> {
  try {
    const text = await readFile(join(gitDir, PROTECTED_FILE), "utf8");
    return new Set(text.split("\n").filter(Boolean));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return new Set();
    throw error;
  }
}

/** Throws GitHub's 405 when an installation token asks to merge into a protected branch. */
export async function checkMergeAllowed(
  principal: ForgePrincipal,
  gitDir: string,
  base: string,
): Promise<void> {
  if (principal.kind !== "installation") return;
  if (!(await protectedRefs(gitDir)).has(`refs/heads/${base}`)) return;
  throw new ForgeHttpError(
    405,
    "At least 1 approving review is required by reviewers with write access.",
  );
}
