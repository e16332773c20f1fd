import type { Command } from "../command.ts";

// Placeholder until its issue lands: says so plainly and fails, never pretends to work.
export const command: Command = {
  usage: "leviathan render knative",
  summary: "Not built yet.",
  async run({ stderr }) {
    stderr.write("leviathan render knative: not built yet\n");
    return 1;
  },
};
