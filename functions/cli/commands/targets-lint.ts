import { formatProblem, lintTargets, SHARED_FIELDS } from "../../../shared/config/lint-targets.ts";
import { ConfigDirError, readConfigDir } from "../../../shared/config/read-config-dir.ts";
import { type Command, UsageError } from "../command.ts";

export const command: Command = {
  usage: "leviathan targets lint DIR",
  summary: "Checks a config directory's <target>.yaml files together (exit 1 on any problem).",
  help: `Every file of DIR must be <target>.yaml holding a valid config whose target_id is
<target>; no two files may name the same repository; and the fields one deployment has once
(${SHARED_FIELDS.join(", ")}) must agree. Each problem is printed as file:line: message,
then a one-line summary. The same checks run before render knative --config-dir.`,
  async run({ positionals, stdout }) {
    if (positionals.length !== 1) throw new UsageError("name one config directory");
    const dir = positionals[0]!;
    let files: Awaited<ReturnType<typeof readConfigDir>>;
    try {
      files = await readConfigDir(dir);
    } catch (error) {
      if (!(error instanceof ConfigDirError)) throw error;
      stdout.write(`${error.message}\n`);
      return 1;
    }
    const result = lintTargets(files, dir);
    const lines = result.problems.map(formatProblem);
    lines.push(
      result.problems.length > 0
        ? `${dir}: ${result.problems.length} problem${result.problems.length === 1 ? "" : "s"} in ${files.length} file${files.length === 1 ? "" : "s"}`
        : `${dir}: OK, ${result.targets.length} target${result.targets.length === 1 ? "" : "s"} (${result.targets.map((t) => t.target).join(", ")})`,
    );
    stdout.write(lines.map((line) => `${line}\n`).join(""));
    return result.problems.length > 0 ? 1 : 0;
  },
};
