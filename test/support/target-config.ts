// A target's config file as an operator writes it, pointed at a repository of the local forge.
import type { LocalForge } from "../../shared/forge/local/types.ts";

export function targetConfigText(
  target: string,
  forge: LocalForge,
  owner: string,
  repo: string,
  extra: Record<string, string | number | boolean> = {},
): string {
  const fields: Record<string, string | number | boolean> = {
    target_id: target,
    target_repo_url: forge.gitUrl(owner, repo),
    target_branch: "main",
    allowed_path_prefixes: "[.leviathan/, docs/]",
    max_open_prs: 1,
    max_running_attempts: 1,
    max_attempts_per_task: 2,
    circuit_breaker_failures: 2,
    schedule_cron: '"*/5 * * * *"',
    attempt_timeout_seconds: 900,
    control_plane_url: "http://leviathan-control-plane:8000",
    worker_image: "leviathan-worker:local",
    worker_namespace: "leviathan",
    workspace_dir: "/workspace",
    github_api_url: forge.apiUrl,
    worker_url: "http://127.0.0.1:9/never-called",
    ...extra,
  };
  return `${Object.entries(fields)
    .map(([key, value]) => `${key}: ${value}`)
    .join("\n")}\n`;
}

/** A backlog of one task; `ready` decides whether the tick may dispatch it. */
export function oneTaskBacklog(id: string, ready: boolean): string {
  return [
    "tasks:",
    `  - id: ${id}`,
    `    title: "Task ${id}"`,
    `    ready: ${ready}`,
    "    allowed_paths: [docs/a.md]",
    "",
  ].join("\n");
}
