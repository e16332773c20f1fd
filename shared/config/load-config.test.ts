import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoPath } from "../../test/support/repo-root.ts";
import { errorMessage } from "../errors/error-message.ts";
import {
  ConfigError,
  configPathForTarget,
  createConfigCache,
  loadConfig,
  parseConfig,
} from "./load-config.ts";

const SEED = repoPath("ops", "autonomy", "dev.yaml");

async function problemsOf(edit: (text: string) => string): Promise<string[]> {
  const text = edit(await readFile(SEED, "utf8"));
  try {
    parseConfig(text, "bad.yaml");
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect(errorMessage(error)).toContain("bad.yaml");
    return (error as ConfigError).problems;
  }
  throw new Error("config was accepted");
}

describe("autonomy config", () => {
  it("loads the seed file unchanged, with the optional fields' defaults", async () => {
    const { config, name } = await loadConfig(SEED);
    expect(name).toBe("dev.yaml");
    expect(config).toMatchObject({
      target_id: "radix",
      max_open_prs: 1,
      allowed_path_prefixes: [".leviathan/", "docs/"],
      autonomy_enabled: true,
      dry_run: false,
      default_executor: "backlog-propose",
      github_api_url: "https://api.github.com",
    });
  });

  it.each([
    ["max_open_prs: 1", "max_open_prs: one", "max_open_prs (line 5)"],
    ["max_open_prs: 1", "max_open_prs: 0", "max_open_prs (line 5): must be at least 1"],
    ["target_id: radix", "target_id: Radix!", "target_id (line 1)"],
    [
      "https://github.com/iangreen74/radix.git",
      "http://github.com/iangreen74/radix.git",
      "target_repo_url (line 2): must be https://",
    ],
    [
      'schedule_cron: "*/5 * * * *"',
      'schedule_cron: "every five"',
      "schedule_cron (line 9): is not a cron",
    ],
    [
      "allowed_path_prefixes: [.leviathan/, docs/]",
      "allowed_path_prefixes: [../x]",
      "allowed_path_prefixes[0]",
    ],
    [
      "workspace_dir: /workspace",
      "workspace_dir: workspace",
      "workspace_dir (line 14): must be an absolute path",
    ],
    [
      "worker_image: leviathan-worker:local",
      "worker_image: leviathan-worker:local\nmax_open_pr: 3",
      "max_open_pr (line 13): unknown field",
    ],
    [
      "worker_image: leviathan-worker:local",
      "worker_image: leviathan-worker:local\ngithub_app_id: abc",
      "github_app_id (line 13): must be a whole number",
    ],
    [
      "worker_image: leviathan-worker:local",
      "worker_image: leviathan-worker:local\ngithub_app_installation_id: 42",
      "github_app_installation_id (line 13): needs github_app_id",
    ],
  ])("names the field: %s → %s", async (from, to, expected) => {
    const problems = await problemsOf((t) => t.replace(from, to));
    expect(problems.join("\n")).toContain(expected);
  });

  it("takes a GitHub App's id, with or without its installation", async () => {
    const text = await readFile(SEED, "utf8");
    const withApp = parseConfig(`${text}github_app_id: 123\n`, "app.yaml");
    expect(withApp.github_app_id).toBe(123);
    expect(withApp.github_app_installation_id).toBeUndefined();
    const both = parseConfig(
      `${text}github_app_id: 123\ngithub_app_installation_id: 456\n`,
      "app.yaml",
    );
    expect(both.github_app_installation_id).toBe(456);
  });

  it("names a missing field", async () => {
    const problems = await problemsOf((t) => t.replace(/^target_branch: main\n/m, ""));
    expect(problems.join("\n")).toContain("target_branch");
  });

  it("reports YAML syntax errors with their line", async () => {
    const problems = await problemsOf((t) => `${t}\nbroken: [`);
    expect(problems[0]).toMatch(/^line \d+:/);
  });

  it("finds a target's file beside the configured one and refuses other names", () => {
    expect(configPathForTarget("ops/autonomy/dev.yaml", "radix")).toBe("ops/autonomy/radix.yaml");
    expect(configPathForTarget("ops/autonomy/dev.yaml", undefined)).toBe("ops/autonomy/dev.yaml");
    expect(() => configPathForTarget("ops/autonomy/dev.yaml", "../secrets")).toThrow(ConfigError);
  });

  it("a config cache reads the file every time and parses only a text it has not seen", async () => {
    const dir = await mkdtemp(join(tmpdir(), "config-cache-"));
    try {
      const path = join(dir, "radix.yaml");
      const text = await readFile(SEED, "utf8");
      await writeFile(path, text);
      const cache = createConfigCache();
      const first = await cache.load(path);
      first.config.max_open_prs = 9;
      const second = await cache.load(path);
      // A copy each time: what one tick changes, the next does not see.
      expect(second).toMatchObject({ name: "radix.yaml", config: { max_open_prs: 1 } });
      expect(cache.stats).toEqual({ hits: 1, parses: 1 });

      await writeFile(path, text.replace("max_open_prs: 1", "max_open_prs: 3"));
      expect((await cache.load(path)).config.max_open_prs).toBe(3);
      await writeFile(path, text.replace("max_open_prs: 1", "max_open_prs: none"));
      await expect(cache.load(path)).rejects.toThrow(/max_open_prs \(line 5\)/);
      await rm(path);
      await expect(cache.load(path)).rejects.toMatchObject({ notFound: true });
      expect(cache.stats).toEqual({ hits: 1, parses: 3 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
