import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { ConfigError, configPathFrom, parseConfig } from "../../../shared/config/load-config.ts";
import { renderKnativeFiles } from "../../../shared/deploy/knative-files.ts";
import { renderKnativeYaml, type StoreKind } from "../../../shared/deploy/render-knative.ts";
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
  usage: "leviathan render knative [--store ndjson|postgres] [--write DIR]",
  summary: "Prints every manifest of knative/ as one multi-document YAML stream.",
  help: `Rendered from the config (--config, LEVIATHAN_CONFIG, then ops/autonomy/dev.yaml): its
target's ConfigMap (with worker_url set to the worker's cluster-local address), the image,
the namespace and the PingSource's schedule all come from it.

--store postgres renders the control plane for the PostgreSQL store: a Knative Service
leviathan-control-plane (cluster-local, min-scale 1, any number of replicas) with
LEVIATHAN_STORE_URL from the Secret leviathan-store (key url) and no volume, and
control_plane_url in the ConfigMap set to its cluster-local address. The default, ndjson,
renders the one-replica Deployment with its PersistentVolumeClaim.

--write DIR writes the folder instead: one file per concern, kustomization.yaml and
secrets.example.yaml. The committed knative/ is regenerated with
  node bin/leviathan.js render knative --write knative/`,
  options: { write: { type: "string" }, store: { type: "string" } },
  async run({ values, positionals, env, stdout }) {
    if (positionals.length > 0) throw new UsageError("takes no positional arguments");
    const path = configPathFrom(env);
    const text = await readConfigText(path);
    const config = parseConfig(text, path);
    const store = parseStore(values.store);
    const options = { configName: basename(path), configText: text, source: path, store };
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
