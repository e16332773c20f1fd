import { type ForgeServices, gitTarget } from "./forge-services.ts";
import { pullRequestHtmlUrl } from "./github-objects.ts";
import type { createActionGuard, PullRequestAction } from "./pull-request-actions.ts";
import { pullRequestDiff } from "./pull-request-diff.ts";
import { pullRequestStats } from "./pull-request-reply.ts";
import { pullRequestTips } from "./pull-request-tips.ts";
import { listBranches } from "./read-repository.ts";
import type { StoredPullRequest } from "./types.ts";

/**
 * The pages behind `html_url`s: local mode prints PR URLs and a person opens them. Plain
 * HTML, every value escaped; undefined when there is no such repository or PR.
 */
export async function pullRequestPage(
  services: ForgeServices,
  guard: ReturnType<typeof createActionGuard>,
  owner: string,
  repo: string,
  number: number,
  notice?: string,
): Promise<string | undefined> {
  const state = await services.store.read(owner, repo);
  const pull = state?.pulls.find((candidate) => candidate.number === number);
  if (!state || !pull) return undefined;
  const target = gitTarget(services, owner, repo);
  const tips = pullRequestTips(pull, await listBranches(target));
  const stats = await pullRequestStats(services, target, tips.baseSha, tips.headSha).catch(
    () => undefined,
  );
  const rows = (stats?.files ?? [])
    .map(
      (file) =>
        `<tr><td><code>${escapeHtml(file.path)}</code></td><td class="add">+${file.additions}</td><td class="del">-${file.deletions}</td></tr>`,
    )
    .join("\n");
  const summary = stats
    ? `${stats.commits} commit(s), ${stats.changedFiles} file(s) changed, +${stats.additions} -${stats.deletions}`
    : "the commits of this pull request are no longer in the repository";
  const diff = await pullRequestDiff(target, tips.baseSha, tips.headSha).catch(() => undefined);
  const diffHtml = diff
    ? `<pre class="diff">${diff.lines
        .map((line) => `<span class="${line.kind}">${escapeHtml(line.text)}</span>`)
        .join("\n")}</pre>${diff.cut ? "<p>(the rest of the diff is not shown)</p>" : ""}`
    : "";
  const path = `/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/pull/${number}`;
  const button = (action: PullRequestAction, label: string) =>
    `<form method="post" action="${escapeHtml(`${path}/${action}`)}"><input type="hidden" name="token" value="${guard.token(owner, repo, number, action)}"><button type="submit" class="${action}">${label}</button></form>`;
  const actions =
    pull.state === "open"
      ? `<div class="actions">${button("merge", "Merge pull request")}${button("close", "Close pull request")}</div>`
      : "";
  return page(
    `${pull.title} · #${pull.number} · ${owner}/${repo}`,
    `<p><a href="/${escapeHtml(owner)}/${escapeHtml(repo)}">${escapeHtml(owner)}/${escapeHtml(repo)}</a></p>
<h1>${escapeHtml(pull.title)} <span class="number">#${pull.number}</span></h1>
<p><span class="state ${describeState(pull)}">${describeState(pull)}</span>
<code>${escapeHtml(pull.head_ref)}</code> → <code>${escapeHtml(pull.base_ref)}</code>
· opened ${escapeHtml(pull.created_at)}${pull.merged_at ? ` · merged ${escapeHtml(pull.merged_at)} as <code>${escapeHtml(pull.merge_commit_sha ?? "")}</code>` : ""}</p>
${notice ? `<p class="notice" role="alert">${escapeHtml(notice)}</p>` : ""}
${actions}
<pre class="body">${escapeHtml(pull.body ?? "")}</pre>
<h2>Changes</h2>
<p>${summary}</p>
<table>${rows}</table>
${diffHtml}`,
  );
}

export async function repositoryPage(
  services: ForgeServices,
  owner: string,
  repo: string,
): Promise<string | undefined> {
  const state = await services.store.read(owner, repo);
  if (!state) return undefined;
  const items = [...state.pulls]
    .reverse()
    .map(
      (pull) =>
        `<li><a href="${escapeHtml(pullRequestHtmlUrl(services.urls, owner, repo, pull.number))}">#${pull.number} ${escapeHtml(pull.title)}</a> <span class="state ${describeState(pull)}">${describeState(pull)}</span> <code>${escapeHtml(pull.head_ref)}</code></li>`,
    )
    .join("\n");
  return page(
    `${owner}/${repo}`,
    `<h1>${escapeHtml(owner)}/${escapeHtml(repo)}</h1>
<p>Default branch <code>${escapeHtml(state.default_branch)}</code>. Clone:
<code>${escapeHtml(`${services.urls.webUrl}/${owner}/${repo}.git`)}</code> (with the forge's token)</p>
<h2>Pull requests</h2>
<ul>${items || "<li>none yet</li>"}</ul>`,
  );
}

function describeState(pull: StoredPullRequest): "open" | "merged" | "closed" {
  if (pull.merged_at !== null) return "merged";
  return pull.state;
}

function page(title: string, content: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
.state{padding:.1rem .5rem;border-radius:1rem;color:#fff;background:#57606a}
.open{background:#1a7f37}.merged{background:#8250df}.number{color:#57606a;font-weight:normal}
pre.body{white-space:pre-wrap;background:#f6f8fa;padding:1rem}.add{color:#1a7f37}.del{color:#cf222e}
td{padding:.1rem .75rem}.actions{display:flex;gap:.5rem;margin:1rem 0}
button{font:inherit;padding:.4rem 1rem;border-radius:.4rem;border:1px solid #1f2328;cursor:pointer}
button.merge{background:#1a7f37;color:#fff}.notice{background:#fff8c5;padding:.5rem 1rem}
pre.diff{background:#f6f8fa;padding:1rem;overflow-x:auto}.diff .added{color:#1a7f37}
.diff .removed{color:#cf222e}.diff .hunk{color:#8250df}.diff .file{font-weight:bold}</style></head>
<body>${content}</body></html>
`;
}

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (char) =>
      ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[char] ?? char,
  );
}
