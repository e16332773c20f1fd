import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../shared/config/load-config.ts";
import { renderKnativeFiles } from "../../shared/deploy/knative-files.ts";
import { repoPath } from "../support/repo-root.ts";
import { KNATIVE_DIR } from "./manifest-models.ts";

const SOURCE = "ops/autonomy/dev.yaml";
const REGENERATE = `knative/ is out of date with ${SOURCE} or shared/deploy/; regenerate it with
  node bin/leviathan.js render knative --write knative/
and commit the result`;

describe("knative/ is what the renderer makes from the config", () => {
  it("every rendered file is committed byte for byte, and no stale manifest is left", async () => {
    const text = await readFile(repoPath(SOURCE), "utf8");
    const rendered = renderKnativeFiles(parseConfig(text, SOURCE), {
      configName: "dev.yaml",
      configText: text,
      source: SOURCE,
    });
    for (const file of rendered) {
      const committed = await readFile(join(KNATIVE_DIR, file.name), "utf8").catch(() => null);
      expect(committed, `${file.name}: ${REGENERATE}`).toBe(file.text);
    }
    const yamlFiles = (await readdir(KNATIVE_DIR)).filter((f) => /\.ya?ml$/.test(f));
    expect(yamlFiles.sort(), `stale files in knative/: ${REGENERATE}`).toEqual(
      rendered.map((f) => f.name).sort(),
    );
  });

  it("the ConfigMap keeps the config file's text and comments, adding only worker_url", async () => {
    const text = `# radix: docs only\n${await readFile(repoPath(SOURCE), "utf8")}`;
    const [configMap] = renderKnativeFiles(parseConfig(text, SOURCE), {
      configName: "dev.yaml",
      configText: text,
    }).filter((f) => f.name === "autonomy-config.yaml");
    expect(configMap?.text).toContain("# radix: docs only");
    expect(configMap?.text).toContain("allowed_path_prefixes: [.leviathan/, docs/]");
    expect(configMap?.text).toContain(
      "worker_url: http://leviathan-worker.leviathan.svc.cluster.local",
    );
  });
});
