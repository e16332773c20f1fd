import { startLocal } from "../../local/main.ts";
import type { Command } from "../command.ts";

export const command: Command = {
  usage: "leviathan start [--once] [--json]",
  summary: "Run the whole loop on this machine: backlog task → pull request in a local forge.",
  help:
    "Starts the control plane (a supervised child on PORT, default 8000), a local GitHub-compatible\n" +
    "forge holding the demo target (ops/demo-target), the worker (attempts run as child processes)\n" +
    "and the tick, then ticks at once and on the config's schedule_cron. Ctrl-C stops everything.\n\n" +
    "Options:\n" +
    "  --once   one tick and, if it dispatched, its attempt; exit 0 after a successful attempt or a\n" +
    "           skip, 1 if the attempt failed\n" +
    "  --json   machine-readable lines on stdout\n\n" +
    "Environment:\n" +
    "  LEVIATHAN_HOME    where everything lives (default ./.data): events/, forge/, jobs/, the token\n" +
    "  LEVIATHAN_CONFIG  a config file (default ops/autonomy/local.yaml); with GITHUB_TOKEN set too,\n" +
    "                    the loop runs against that config's real forge instead of the local one\n" +
    "  PORT              the control plane's port (default 8000)",
  options: {
    once: { type: "boolean" },
    json: { type: "boolean" },
  },
  async run({ values, env, stdout }) {
    return startLocal({ env, once: values.once === true, json: values.json === true, out: stdout });
  },
};
