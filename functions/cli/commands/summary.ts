import { clientFromEnv } from "../../../shared/control-plane/client/client-from-env.ts";
import { formatSummary } from "../../../shared/control-plane/client/format-summary.ts";
import { type Command, UsageError } from "../command.ts";

export const command: Command = {
  usage: "leviathan summary [--json]",
  summary: "What Leviathan did, per target, from the running control plane.",
  help:
    "Per target: breaker state, attempts by status, running attempts, open PRs, tasks, the last\n" +
    "tick and skip reason, and recent events. --json prints GET /v1/graph/summary as is.\n\n" +
    "Finds the control plane through CONTROL_PLANE_URL, <LEVIATHAN_HOME>/control-plane.url, then\n" +
    "the config's control_plane_url; the token through CONTROL_PLANE_TOKEN, the file\n" +
    "CONTROL_PLANE_TOKEN_FILE names, then <LEVIATHAN_HOME>/control-plane.token.",
  options: { json: { type: "boolean" } },
  async run({ values, positionals, env, stdout }) {
    if (positionals.length > 0) throw new UsageError("takes no arguments");
    const { client, config } = await clientFromEnv(env);
    const summary = await client.getSummary();
    if (values.json) {
      stdout.write(`${JSON.stringify(summary)}\n`);
      return 0;
    }
    const breakerThresholds = config
      ? { [config.target_id]: config.circuit_breaker_failures }
      : undefined;
    stdout.write(formatSummary(summary, breakerThresholds ? { breakerThresholds } : {}));
    return 0;
  },
};
