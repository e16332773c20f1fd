import { runControlPlane } from "../../control-plane/main.ts";
import { type Command, UsageError } from "../command.ts";

export const command: Command = {
  usage: "leviathan control-plane",
  summary: "Run the control plane: the event store's HTTP server.",
  help:
    "Environment:\n" +
    "  CONTROL_PLANE_TOKEN  bearer token every route but /health requires (required), or\n" +
    "  CONTROL_PLANE_TOKEN_FILE  a file holding it (a mounted Secret)\n" +
    "  LEVIATHAN_STORE_KEY  secret the store's checkpoint MACs are keyed from, or\n" +
    "  LEVIATHAN_STORE_KEY_FILE  a file holding it (default: CONTROL_PLANE_TOKEN)\n" +
    "  PORT                 port to listen on (default 8000)\n" +
    "  LEVIATHAN_DATA_DIR   event store directory (default <LEVIATHAN_HOME>/events;\n" +
    "                       the Deployment sets /data/events)\n" +
    "  LEVIATHAN_HOME       default ./.data\n" +
    "  LEVIATHAN_STORE_URL  a postgres:// URL: the PostgreSQL event store instead of the\n" +
    "                       directory (schema created or migrated on start; any number of\n" +
    "                       control planes may share one database), or\n" +
    "  LEVIATHAN_STORE_URL_FILE  a file holding it (a mounted Secret)\n\n" +
    "Stops on SIGTERM or SIGINT: finishes in-flight requests, closes the store, exits 0.",
  async run({ positionals, env, stdout, stderr }) {
    if (positionals.length > 0) throw new UsageError("takes no arguments");
    return runControlPlane({ env, stdout, stderr });
  },
};
