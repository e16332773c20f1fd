import { attemptForge } from "../../job/attempt-forge.ts";
import { runAttemptJob } from "../../job/run-attempt-job.ts";
import type { Command } from "../command.ts";

export const command: Command = {
  usage: "leviathan attempt",
  summary: "Run one attempt as its Job does: clone, execute, check scope, push, open the PR.",
  help: `Reads everything from the environment (DESIGN §5), never from a config file.
Required: GITHUB_TOKEN, TARGET_NAME, TARGET_REPO_URL, TARGET_BRANCH, TASK_ID, ATTEMPT_ID,
  CONTROL_PLANE_URL, CONTROL_PLANE_TOKEN, LEVIATHAN_WORKSPACE_DIR.
Optional: GITHUB_API_URL (default https://api.github.com), ATTEMPT_NUMBER,
  ATTEMPT_TIMEOUT_SECONDS (default 900), LEVIATHAN_ALLOWED_PATH_PREFIXES (default .leviathan/,docs/),
  LEVIATHAN_DEFAULT_EXECUTOR (default backlog-propose), LEVIATHAN_EXECUTOR_COMMAND (JSON array).
Progress is logged as JSON lines on stderr. Exit 0 once the PR is open and recorded, 1 otherwise.`,
  async run({ env, stderr }) {
    return runAttemptJob(env, { stderr, createForge: attemptForge });
  },
};
