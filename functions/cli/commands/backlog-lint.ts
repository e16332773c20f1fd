import { readFile } from "node:fs/promises";
import { lintBacklog } from "../../../shared/backlog/lint-backlog.ts";
import { BACKLOG_FILE } from "../../../shared/backlog/parse-backlog.ts";
import { type Command, UsageError } from "../command.ts";

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export const command: Command = {
  usage: "leviathan backlog lint [file]",
  summary: "Checks a backlog file: errors (exit 1) and unknown fields (warnings, exit 0).",
  help: `The file defaults to ${BACKLOG_FILE}. Each finding is printed as
file:line: task <id>: <field>: message, errors first, then a one-line summary.
A task's problems make only that task ineligible for the scheduler; a missing or duplicate
id, a missing tasks list or YAML that does not parse make the whole backlog invalid.`,
  async run({ positionals, stdout }) {
    if (positionals.length > 1) throw new UsageError("expects at most one file");
    const file = positionals[0] ?? BACKLOG_FILE;
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "unknown error";
      stdout.write(`${file}: cannot read (${code === "ENOENT" ? "file not found" : code})\n`);
      return 1;
    }
    const result = lintBacklog(text, file);
    const warnings = plural(result.warnings.length, "warning");
    const summary =
      result.errors.length > 0
        ? `${file}: ${plural(result.errors.length, "error")}, ${warnings}`
        : `${file}: OK, ${plural(result.taskCount, "task")} (${result.readyCount} ready), ${warnings}`;
    stdout.write([...result.errors, ...result.warnings, summary].map((l) => `${l}\n`).join(""));
    return result.errors.length > 0 ? 1 : 0;
  },
};
