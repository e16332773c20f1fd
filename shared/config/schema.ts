import { CronExpressionParser } from "cron-parser";
import { z } from "zod";
import { errorMessage } from "../errors/error-message.ts";
import { TARGET_NAME_PATTERN } from "../events/schema.ts";
import { normalizeRepoPath } from "../scope/check-path.ts";

/** Loopback hosts may use plain http (the local forge); everything else must be https. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export interface RepoCoordinates {
  owner: string;
  repo: string;
  host: string;
}

/** `https://<host>[:port]/<owner>/<repo>[.git]`. */
export function parseRepoUrl(value: string): RepoCoordinates | { error: string } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { error: "is not a URL" };
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopbackHost(url.hostname))) {
    return { error: "must be https:// (plain http:// only for loopback addresses)" };
  }
  if (url.username || url.password) return { error: "must not carry credentials" };
  if (url.search || url.hash) return { error: "must not have a query or fragment" };
  const parts = url.pathname.replace(/\/+$/, "").split("/").filter(Boolean);
  if (parts.length !== 2) return { error: "must be https://<host>/<owner>/<repo>[.git]" };
  const [owner, rawRepo] = parts as [string, string];
  const repo = rawRepo.replace(/\.git$/, "");
  if (!/^[A-Za-z0-9_.-]+$/.test(owner) || !/^[A-Za-z0-9_.-]+$/.test(repo)) {
    return { error: "owner and repository may hold only letters, digits, '-', '_' and '.'" };
  }
  return { owner, repo, host: url.host };
}

const httpUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}, "must be an http:// or https:// URL");

const count = (min: number) =>
  z
    .number({ error: "must be a whole number" })
    .int("must be a whole number")
    .min(min, `must be at least ${min}`);

export const EXECUTORS = ["backlog-propose", "docs", "command"] as const;
export type ExecutorName = (typeof EXECUTORS)[number];

export const EXECUTOR_ISOLATION_SETTINGS = ["required", "none"] as const;
export type ExecutorIsolationSetting = (typeof EXECUTOR_ISOLATION_SETTINGS)[number];

/** The seed's fields plus optional ones whose defaults keep the seed valid. */
const autonomyConfigFields = z.strictObject({
  target_id: z.string().max(63).regex(TARGET_NAME_PATTERN, "must match [a-z0-9][a-z0-9-]*"),
  target_repo_url: z.string().superRefine((value, ctx) => {
    const parsed = parseRepoUrl(value);
    if ("error" in parsed) ctx.addIssue({ code: "custom", message: parsed.error });
  }),
  target_branch: z
    .string()
    .min(1, "must not be empty")
    .regex(/^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]+$/, "must be a branch name"),
  allowed_path_prefixes: z
    .array(
      z.string().superRefine((value, ctx) => {
        const normalized = normalizeRepoPath(value);
        if (!normalized.ok) ctx.addIssue({ code: "custom", message: normalized.reason });
      }),
    )
    .min(1, "must list at least one prefix"),
  max_open_prs: count(1),
  max_running_attempts: count(1),
  max_attempts_per_task: count(1),
  circuit_breaker_failures: count(1),
  schedule_cron: z.string().superRefine((value, ctx) => {
    try {
      CronExpressionParser.parse(value);
    } catch (error) {
      ctx.addIssue({
        code: "custom",
        message: `is not a cron expression (${errorMessage(error)})`,
      });
    }
  }),
  attempt_timeout_seconds: count(1).max(86_400, "must be at most 86400 (one day)"),
  control_plane_url: httpUrl,
  worker_image: z.string().min(1, "must not be empty"),
  worker_namespace: z
    .string()
    .max(63)
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a Kubernetes namespace name"),
  workspace_dir: z.string().startsWith("/", "must be an absolute path"),
  autonomy_enabled: z.boolean().default(true),
  dry_run: z.boolean().default(false),
  default_executor: z.enum(EXECUTORS).default("backlog-propose"),
  executor_command: z.array(z.string()).min(1, "must name a program").optional(),
  github_api_url: httpUrl.default("https://api.github.com"),
  worker_url: httpUrl.optional(),
  /**
   * Whether the `command` executor may run without isolation when the attempt cannot give it
   * another user: `required` (the default when unset) fails such an attempt with
   * `isolation_unavailable`; `none` runs it as the attempt's own user.
   */
  executor_isolation: z.enum(EXECUTOR_ISOLATION_SETTINGS).optional(),
  /** At most this many files in one change (default 100), else `change_too_large`. */
  max_changed_files: count(1).max(1_000_000, "must be at most 1000000").optional(),
  /** At most this many bytes of changed files' new content (default 10 MiB), else `change_too_large`. */
  max_change_bytes: count(1).optional(),
  /**
   * A GitHub App's id: the tick and the worker then use its installation tokens (the private key
   * from `GITHUB_APP_PRIVATE_KEY_FILE`) instead of `GITHUB_TOKEN`.
   */
  github_app_id: count(1).optional(),
  /** The App's installation on the target; without it, it is looked up from the repository. */
  github_app_installation_id: count(1).optional(),
});

export const autonomyConfigSchema = autonomyConfigFields.superRefine(checkGitHubApp);

/** Fields that only mean something together. */
function checkGitHubApp(
  config: { github_app_id?: number | undefined; github_app_installation_id?: number | undefined },
  ctx: z.RefinementCtx,
): void {
  if (config.github_app_installation_id !== undefined && config.github_app_id === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["github_app_installation_id"],
      message: "needs github_app_id (the App it is an installation of)",
    });
  }
}

export type AutonomyConfig = z.infer<typeof autonomyConfigSchema>;
