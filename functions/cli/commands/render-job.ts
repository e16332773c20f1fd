import { MAX_TASK_ID_LENGTH, TASK_ID_PATTERN } from "../../../shared/backlog/task-fields.ts";
import { configPathFrom, loadConfig } from "../../../shared/config/load-config.ts";
import { toYamlDocuments } from "../../../shared/deploy/render-knative.ts";
import { attemptIdFor } from "../../../shared/events/ids.ts";
import { EXECUTOR_SECRET } from "../../../shared/jobs/attempt-phases.ts";
import { buildAttemptJob } from "../../../shared/jobs/build-attempt-job.ts";
import { toJobManifest } from "../../../shared/jobs/kubernetes/job-manifest.ts";
import { type Command, UsageError } from "../command.ts";

const SAMPLE_TASK = "sample-task";

function attemptNumberOf(value: string | boolean | undefined): number {
  if (value === undefined) return 1;
  const n = typeof value === "string" && /^[1-9][0-9]{0,5}$/.test(value) ? Number(value) : NaN;
  if (Number.isNaN(n)) throw new UsageError("--attempt must be a whole number from 1");
  return n;
}

export const command: Command = {
  usage: "leviathan render job [--task ID] [--attempt N]",
  summary: "Prints the Kubernetes Job the worker would create for an attempt, as YAML.",
  help: `The task defaults to ${SAMPLE_TASK}, the attempt number to 1; the config comes from --config,
LEVIATHAN_CONFIG, then ops/autonomy/dev.yaml.

The pod runs init containers prepare and execute, then the container deliver. Tokens reach
only prepare and deliver, as files of Secret volumes: the manifest names the Secrets and
holds no token. execute gets neither token, only a few variables and the optional Secret
${EXECUTOR_SECRET}. With the Job the worker also creates the Secret <job name>-token (the
attempt's token; with github_app_id also the attempt's own GitHub token), owned by the Job so
it is deleted with it; it is not printed here.`,
  options: { task: { type: "string" }, attempt: { type: "string" } },
  async run({ values, positionals, env, stdout }) {
    if (positionals.length > 0) throw new UsageError("takes no positional arguments");
    const taskId = typeof values.task === "string" ? values.task : SAMPLE_TASK;
    if (!TASK_ID_PATTERN.test(taskId) || taskId.length > MAX_TASK_ID_LENGTH) {
      throw new UsageError(
        "--task must be letters, digits, - _ and single dots, at most 100 characters",
      );
    }
    const attemptNumber = attemptNumberOf(values.attempt);
    const { config, name } = await loadConfig(configPathFrom(env));
    const job = buildAttemptJob(
      config,
      {
        target_id: config.target_id,
        task_id: taskId,
        attempt_id: attemptIdFor(config.target_id, taskId, attemptNumber),
        attempt_number: attemptNumber,
        config: name,
      },
      // The worker mints the real ones (with a GitHub App, the attempt's GitHub token too); they
      // live in the Job's Secret, never in this manifest.
      {
        configName: name,
        attemptToken: "rendered-without-a-token",
        ...(config.github_app_id !== undefined ? { githubToken: "rendered-without-a-token" } : {}),
      },
    );
    stdout.write(toYamlDocuments([toJobManifest(job)]));
    return 0;
  },
};
