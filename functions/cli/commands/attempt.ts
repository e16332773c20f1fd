import { ATTEMPT_PHASES, type AttemptPhase } from "../../../shared/jobs/attempt-phases.ts";
import { attemptForge } from "../../job/attempt-forge.ts";
import { runAttemptJob } from "../../job/run-attempt-job.ts";
import { type Command, UsageError } from "../command.ts";

export const command: Command = {
  usage: "leviathan attempt [prepare|execute|deliver] [--trusted-dir DIR]",
  summary: "Run one attempt as its Job does: clone, execute, check scope, push, open the PR.",
  help: `Reads everything from the environment, never from a config file.
Required: GITHUB_TOKEN, TARGET_NAME, TARGET_REPO_URL, TARGET_BRANCH, TASK_ID, ATTEMPT_ID,
  CONTROL_PLANE_URL, CONTROL_PLANE_TOKEN, LEVIATHAN_WORKSPACE_DIR. Either token may be given
  as a file instead: GITHUB_TOKEN_FILE, CONTROL_PLANE_TOKEN_FILE (the variable wins if both).
Optional: GITHUB_API_URL (default https://api.github.com), ATTEMPT_NUMBER,
  ATTEMPT_TIMEOUT_SECONDS (default 900), LEVIATHAN_ALLOWED_PATH_PREFIXES (default .leviathan/,docs/),
  LEVIATHAN_DEFAULT_EXECUTOR (default backlog-propose), LEVIATHAN_EXECUTOR_COMMAND (JSON array),
  LEVIATHAN_EXECUTOR_ISOLATION (required|none, default required), LEVIATHAN_EXECUTOR_UID
  (default 65534), LEVIATHAN_EXECUTOR_ENV_FILE (NAME=value lines for the executor only),
  LEVIATHAN_MAX_CHANGED_FILES (default 100), LEVIATHAN_MAX_CHANGE_BYTES (default 10485760).

Without a phase, the whole attempt runs in this process and the command executor runs as
another user in its own PID namespace (when this process is root). A Kubernetes Job runs
the phases as three containers instead: prepare and deliver (with the tokens and
--trusted-dir), and execute (no token; only the workspace).
Progress is logged as JSON lines on stderr. Exit 0 once the PR is open and recorded, 1 otherwise.`,
  options: { "trusted-dir": { type: "string" } },
  async run({ values, positionals, env, stderr }) {
    if (positionals.length > 1) throw new UsageError("takes at most one phase");
    const phase = positionals[0];
    if (phase !== undefined && !(ATTEMPT_PHASES as readonly string[]).includes(phase)) {
      throw new UsageError(`unknown phase ${phase}: one of ${ATTEMPT_PHASES.join(", ")}`);
    }
    const trustedDir =
      typeof values["trusted-dir"] === "string" ? values["trusted-dir"] : undefined;
    return runAttemptJob(env, {
      stderr,
      createForge: attemptForge,
      ...(phase ? { phase: phase as AttemptPhase } : {}),
      ...(trustedDir ? { trustedDir } : {}),
    });
  },
};
