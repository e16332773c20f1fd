import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { formatProblem, lintTargets } from "../../../shared/config/lint-targets.ts";
import { ConfigError, configPathFrom, parseConfig } from "../../../shared/config/load-config.ts";
import { ConfigDirError, readConfigDir } from "../../../shared/config/read-config-dir.ts";
import { renderKnativeFiles } from "../../../shared/deploy/knative-files.ts";
import {
  type RenderKnativeOptions,
  renderKnativeYaml,
  type StoreKind,
} from "../../../shared/deploy/render-knative.ts";
import { spreadSchedules } from "../../../shared/deploy/spread-schedules.ts";
import { type Command, UsageError } from "../command.ts";

async function readConfigText(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(path, [code === "ENOENT" ? "file not found" : `cannot read: ${code}`]);
  }
}

export const command: Command = {
  usage: "leviathan render knative [--config-dir DIR] [--store ndjson|postgres] [--write DIR]",
  summary: "Prints every manifest of knative/ as one multi-document YAML stream.",
  help: `Rendered from the config (--config, LEVIATHAN_CONFIG, then ops/autonomy/dev.yaml): its
target's ConfigMap (with worker_url set to the worker's cluster-local address), the image,
the namespace and the PingSource's schedule all come from it.

--store postgres renders the control plane for the PostgreSQL store: a Knative Service
leviathan-control-plane (cluster-local, min-scale 1, any number of replicas) with
LEVIATHAN_STORE_URL from the Secret leviathan-store (key url) and no volume, and
control_plane_url in the ConfigMap set to its cluster-local address. The default, ndjson,
renders the one-replica Deployment with its PersistentVolumeClaim.

--config-dir DIR renders many targets from one folder of <target>.yaml files instead, checked
together first as \`leviathan targets lint DIR\` checks them (any problem: exit 1, nothing
printed on stdout): the ConfigMap holds every file, and each target gets a PingSource
leviathan-tick-<target> with data {"target":"<target>"}. Schedules whose minute field is */k are
spread over offsets 0..k-1, so at most ceil(N/k) targets ping in one minute; any other cron is
kept as written and named on stderr.

--write DIR writes the folder instead: one file per concern, kustomization.yaml and
secrets.example.yaml. The committed knative/ is regenerated with
  node bin/leviathan.js render knative --write knative/`,
  options: {
    write: { type: "string" },
    "config-dir": { type: "string" },
    store: { type: "string" },
  },
  async run({ values, positionals, env, stdout, stderr }) {
    if (positionals.length > 0) throw new UsageError("takes no positional arguments");
    const store = parseStore(values.store);
    let config: ReturnType<typeof parseConfig>;
    let options: RenderKnativeOptions & { source: string };
    if (typeof values["config-dir"] === "string") {
      const dir = values["config-dir"];
      let lint: ReturnType<typeof lintTargets>;
      try {
        lint = lintTargets(await readConfigDir(dir), dir);
      } catch (error) {
        if (!(error instanceof ConfigDirError)) throw error;
        stderr.write(`leviathan render knative: ${error.message}\n`);
        return 1;
      }
      if (lint.problems.length > 0 || lint.targets.length === 0) {
        stderr.write(lint.problems.map((p) => `${formatProblem(p)}\n`).join(""));
        stderr.write(`leviathan render knative: ${dir} has problems: nothing rendered\n`);
        return 1;
      }
      config = lint.targets[0]!.config;
      options = { targets: lint.targets, source: `${dir}/`, store };
      const schedules = spreadSchedules(
        lint.targets.map((t) => ({ target: t.target, cron: t.config.schedule_cron })),
      );
      for (const kept of schedules.filter((s) => s.unspread)) {
        stderr.write(
          `leviathan render knative: ${kept.target}: schedule "${kept.cron}" kept as written (${kept.unspread})\n`,
        );
      }
    } else {
      const path = configPathFrom(env);
      const text = await readConfigText(path);
      config = parseConfig(text, path);
      options = { configName: basename(path), configText: text, source: path, store };
    }
    if (typeof values.write !== "string") {
      stdout.write(renderKnativeYaml(config, options));
      return 0;
    }
    await mkdir(values.write, { recursive: true });
    for (const file of renderKnativeFiles(config, options)) {
      const target = join(values.write, file.name);
      await writeFile(target, file.text);
      stdout.write(`wrote ${target}\n`);
    }
    return 0;
  },
};

function parseStore(value: string | boolean | undefined): StoreKind {
  if (value === undefined || value === "ndjson") return "ndjson";
  if (value === "postgres") return "postgres";
  throw new UsageError("--store is ndjson or postgres");
}
