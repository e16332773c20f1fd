import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseBacklog } from "../../shared/backlog/parse-backlog.ts";
import type { BacklogTask } from "../../shared/backlog/types.ts";
import { tempDir } from "./git-fixtures.ts";

/** A task as the attempt gets it: parsed from real backlog YAML. */
export function taskFromYaml(yaml: string): BacklogTask {
  const parsed = parseBacklog(`tasks:\n${yaml}`);
  if (!parsed.ok || !parsed.tasks[0]) throw new Error("fixture backlog does not parse");
  const [task] = parsed.tasks;
  if (task.problems.length > 0) throw new Error(JSON.stringify(task.problems));
  return task;
}

/** A `#!/bin/sh` script in its own temporary folder, outside any checkout, readable by the executor's user. */
export function shellScript(body: string): string {
  const dir = tempDir("leviathan-script-");
  chmodSync(dir, 0o755);
  const path = join(dir, "run.sh");
  writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return path;
}
