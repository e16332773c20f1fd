import { setTimeout as delay } from "node:timers/promises";
import { clientFromEnv } from "../../../shared/control-plane/client/client-from-env.ts";
import { formatEventLine } from "../../../shared/control-plane/client/format-summary.ts";
import { type Command, UsageError } from "../command.ts";

const PAGE = 1_000;
const DEFAULT_POLL_MS = 2_000;

export const command: Command = {
  usage: "leviathan events tail [--follow] [--json] [--after SEQ]",
  summary: "The event log, oldest first, one line per event.",
  help:
    "Pages through GET /v1/events from the beginning (or after --after SEQ). --follow keeps\n" +
    "polling for new events until Ctrl-C. --json prints each stored record as one JSON line.\n" +
    "Columns: seq, timestamp, target, event type [attempt] [reason], event id, (actor).\n" +
    "LEVIATHAN_TAIL_POLL_MS sets the --follow polling interval (default 2000).",
  options: {
    follow: { type: "boolean", short: "f" },
    json: { type: "boolean" },
    after: { type: "string" },
  },
  async run({ values, positionals, env, stdout }) {
    if (positionals.length > 0) throw new UsageError("takes no arguments");
    const after = values.after === undefined ? 0 : Number(values.after);
    if (!Number.isSafeInteger(after) || after < 0) {
      throw new UsageError("--after takes a whole number ≥ 0");
    }
    const pollMs = Number(env.LEVIATHAN_TAIL_POLL_MS) || DEFAULT_POLL_MS;
    const { client } = await clientFromEnv(env);
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
      let cursor = after;
      while (!stop.signal.aborted) {
        const page = await client.getEvents(cursor, PAGE);
        for (const record of page.records) {
          stdout.write(`${values.json ? JSON.stringify(record) : formatEventLine(record)}\n`);
        }
        cursor = page.next_after;
        if (page.records.length === PAGE) continue;
        if (!values.follow) break;
        await delay(pollMs, undefined, { signal: stop.signal }).catch(() => undefined);
      }
      return 0;
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  },
};
