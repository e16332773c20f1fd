import type { Command } from "../command.ts";

// Placeholder until its issue lands: says so plainly and fails, never pretends to work.
export const command: Command = {
  usage: "leviathan attempt",
  summary: "Not built yet.",
  async run({ stderr }) {
    stderr.write("leviathan attempt: not built yet\n");
    return 1;
  },
};
