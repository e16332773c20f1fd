import { clientFromEnv } from "../../../shared/control-plane/client/client-from-env.ts";
import { type Command, UsageError } from "../command.ts";

export const command: Command = {
  usage: "leviathan circuit reset <target> [--json]",
  summary: "Close a target's circuit breaker: records circuit.reset in the control plane.",
  help:
    "The target's consecutive failures count from zero again, so the next tick may schedule.\n" +
    "Prints the stored record (--json: as JSON).",
  options: { json: { type: "boolean" } },
  async run({ values, positionals, env, stdout }) {
    const [target, ...rest] = positionals;
    if (!target || rest.length > 0) throw new UsageError("takes exactly one target");
    const { client } = await clientFromEnv(env);
    const record = await client.resetCircuit(target);
    if (values.json) {
      stdout.write(`${JSON.stringify(record)}\n`);
      return 0;
    }
    stdout.write(
      `circuit reset recorded for ${record.target}: seq ${record.seq}, event ` +
        `${record.event.event_id} at ${record.event.timestamp}\n`,
    );
    return 0;
  },
};
