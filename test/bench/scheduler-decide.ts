// Micro-measurement, not a test: `node --import tsx test/scheduler/decide-bench.ts`.
// A 1,000-task backlog (~300 KB of YAML) and a target state as ~10,000 recorded events would
// project it; prints the time to parse the YAML beside the time of the decision itself.
import { performance } from "node:perf_hooks";
import { parseBacklog } from "../../shared/backlog/parse-backlog.ts";
import { parseYamlWithLines } from "../../shared/config/yaml-location.ts";
import type { TargetState } from "../../shared/control-plane/types.ts";
import { decide } from "../../shared/scheduler/decide.ts";
import { emptyTarget, NOW, pullRequest, seedConfig, taskState } from "./fixtures.ts";

const TASKS = 1_000;
const RUNS = 30;

function backlogText(): string {
  const lines = ["# generated", "tasks:"];
  for (let i = 0; i < TASKS; i++) {
    const last = i === TASKS - 1;
    lines.push(
      `  - id: task-${i}`,
      `    title: "Section ${i}"`,
      `    ready: ${i % 10 !== 0}`,
      `    status: ${last ? "pending" : i % 3 === 0 ? "completed" : "pending"}`,
      `    description: "Rewrite section ${i} so a newcomer can follow it; keep every link working."`,
      `    allowed_paths: [docs/guide/section-${i}.md, docs/guide/index.md]`,
      "    acceptance_criteria:",
      `      - "docs/guide/section-${i}.md reads clearly"`,
      `    dependencies: [${i > 0 && !last ? `task-${i - 1}` : ""}]`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** About ten events per task: every pending task but the last has used its attempts. */
function targetState(): TargetState {
  const tasks: TargetState["tasks"] = {};
  for (let i = 0; i < TASKS - 1; i++) {
    tasks[`task-${i}`] = taskState({
      attempts: 2,
      charged_attempts: 2,
      last_status: "failed",
      blocked: true,
    });
  }
  return emptyTarget({ tasks });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const text = backlogText();
const config = seedConfig({ max_open_prs: 10 });
const target = targetState();
const prs = Array.from({ length: 5 }, (_, i) => pullRequest(i + 1, { task: `task-${i * 7}` }));
const yamlTimes: number[] = [];
const parseTimes: number[] = [];
const decideTimes: number[] = [];
let last: ReturnType<typeof decide> | undefined;
for (let run = 0; run < RUNS; run++) {
  const y0 = performance.now();
  parseYamlWithLines(text).doc.toJS();
  yamlTimes.push(performance.now() - y0);
  const t0 = performance.now();
  const backlog = parseBacklog(text, ".leviathan/backlog.yaml");
  const t1 = performance.now();
  last = decide({
    config,
    configName: "dev.yaml",
    backlog,
    openPullRequests: prs,
    target,
    tickId: `bench-${run}`,
    now: NOW,
  });
  const t2 = performance.now();
  parseTimes.push(t1 - t0);
  decideTimes.push(t2 - t1);
}
const chosen = last?.decision.action === "dispatch" ? last.decision.task_id : last?.decision.action;
console.log(
  `backlog: ${TASKS} tasks, ${(text.length / 1024).toFixed(0)} KiB; ${RUNS} runs; decision: ${chosen}`,
);
console.log(
  `YAML alone:                median ${median(yamlTimes).toFixed(1)} ms, first ${yamlTimes[0]!.toFixed(1)} ms`,
);
console.log(
  `parse (YAML + validation): median ${median(parseTimes).toFixed(1)} ms, first ${parseTimes[0]!.toFixed(1)} ms`,
);
console.log(
  `decide (rules only):       median ${median(decideTimes).toFixed(2)} ms, first ${decideTimes[0]!.toFixed(2)} ms`,
);
