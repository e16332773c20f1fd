import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { ForgeHttpError } from "./forge-errors.ts";
import type { ForgeServices } from "./forge-services.ts";
import { mergePullRequest } from "./merge-pull-request.ts";
import { updatePullRequest } from "./update-pull-request.ts";

/** What the PR page's buttons do: what the REST routes do, from a browser form. */
export type PullRequestAction = "merge" | "close";

const MAX_FORM_BYTES = 4_096;

/**
 * The forms' protection against other sites (a page elsewhere cannot post here for you): each
 * form carries a MAC of its action under a secret of this forge process, and a request whose
 * `Origin` is another site is refused. The forge's own token is never put in a page.
 */
export function createActionGuard(): {
  token(owner: string, repo: string, number: number, action: PullRequestAction): string;
  check(
    owner: string,
    repo: string,
    number: number,
    action: PullRequestAction,
    given: string,
  ): boolean;
} {
  const secret = randomBytes(32);
  const token = (owner: string, repo: string, number: number, action: PullRequestAction) =>
    createHmac("sha256", secret).update(`${owner}/${repo}#${number}:${action}`).digest("hex");
  return {
    token,
    check(owner, repo, number, action, given) {
      const expected = Buffer.from(token(owner, repo, number, action));
      const actual = Buffer.from(given);
      return actual.length === expected.length && timingSafeEqual(actual, expected);
    },
  };
}

/**
 * A Merge or Close button's POST: the form's token checked, then the same code as the REST
 * route. Resolves with where to send the browser next (the PR's page); a refusal is a
 * `ForgeHttpError` with GitHub's message (not mergeable, already merged, …).
 */
export async function runPullRequestAction(
  services: ForgeServices,
  guard: ReturnType<typeof createActionGuard>,
  req: IncomingMessage,
  target: { owner: string; repo: string; number: number; action: PullRequestAction },
): Promise<void> {
  const { owner, repo, number, action } = target;
  if (!fromThisForge(req.headers.origin, services.urls.webUrl)) {
    throw new ForgeHttpError(403, "This form may only be sent from the forge's own pages.");
  }
  const form = new URLSearchParams(await readForm(req));
  if (!guard.check(owner, repo, number, action, form.get("token") ?? "")) {
    throw new ForgeHttpError(403, "This form's token is not valid: reload the page and try again.");
  }
  if (action === "merge") {
    await mergePullRequest(services, owner, repo, number);
    return;
  }
  await updatePullRequest({
    services,
    params: { owner, repo, pull_number: String(number) },
    // The page's buttons are the forge's owner at the keyboard.
    principal: { kind: "personal" },
    query: new URLSearchParams(),
    headers: req.headers,
    url: `${services.urls.apiUrl}/repos/${owner}/${repo}/pulls/${number}`,
    body: async () => ({ state: "closed" }),
  });
}

/**
 * Browsers name the page a form was sent from in `Origin`: this forge's, by whichever loopback
 * name the user opened it with (`127.0.0.1` or `localhost`), on the forge's port. No `Origin`
 * at all (a command-line client) is let through: the form's token still has to be right.
 */
function fromThisForge(origin: string | undefined, webUrl: string): boolean {
  if (origin === undefined) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  const own = new URL(webUrl);
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  return url.protocol === own.protocol && url.port === own.port && loopback;
}

async function readForm(req: IncomingMessage): Promise<string> {
  const type = req.headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") {
    throw new ForgeHttpError(415, "Expected a form (application/x-www-form-urlencoded).");
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new ForgeHttpError(413, "The form is too large.");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
