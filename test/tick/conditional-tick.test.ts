// Conditional requests end to end: the tick as composed for a process (composeTick with
// forgeFromConfig, as production wires it) against the local forge and a real control plane.
// A second tick on an unchanged target spends no rate limit; a changed backlog is read and
// parsed again.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AttemptRequest } from "../../shared/events/types.ts";
import { forgeFromConfig } from "../../shared/forge/github/forge-from-config.ts";
import { type ComposedTick, composeTick } from "../../shared/scheduler/compose-tick.ts";
import { parseTickEnv } from "../../shared/scheduler/tick-env.ts";
import { startTestControlPlane, type TestControlPlane, TOKEN } from "../control-plane/support.ts";
import {
  cloneRepo,
  OWNER,
  pushBranch,
  REPO,
  startTestForge,
  type TestForge,
} from "../support/forge-fixtures.ts";
import { silentLogger } from "../support/store/store-helpers.ts";
import { oneTaskBacklog, targetConfigText } from "../support/target-config.ts";
import { tempDir } from "../support/temp-dir.ts";

const BACKLOG = ".leviathan/backlog.yaml";

let forge: TestForge;
let cp: TestControlPlane;
let dispatched: AttemptRequest[];

async function setUp(options: { conditional: boolean }): Promise<ComposedTick> {
  const dir = tempDir("leviathan-conditional-");
  const configPath = join(dir, "radix.yaml");
  await writeFile(configPath, targetConfigText("radix", forge.forge, OWNER, REPO));
  const env = {
    LEVIATHAN_CONFIG: configPath,
    LEVIATHAN_HOME: dir,
    CONTROL_PLANE_URL: cp.url,
    CONTROL_PLANE_TOKEN: TOKEN,
    GITHUB_TOKEN: forge.token,
  };
  return composeTick(parseTickEnv(env), {
    logger: silentLogger,
    // Without the conditional cache: the forge as it was, every read a charged 200.
    createForge: options.conditional
      ? forgeFromConfig
      : (config, token, logger) => forgeFromConfig(config, token, logger),
    dependencies: (deps) => ({
      ...deps,
      jobs: undefined,
      dispatch: async (request) => {
        dispatched.push(request);
      },
    }),
  });
}

beforeEach(async () => {
  forge = await startTestForge({ [BACKLOG]: oneTaskBacklog("docs-1", false) });
  cp = await startTestControlPlane();
  dispatched = [];
});

afterEach(async () => {
  await cp?.cleanup();
  await forge?.cleanup();
});

describe("the tick's conditional requests", () => {
  it("spends no rate limit on a second tick of an unchanged target, and re-reads a changed backlog", async () => {
    const tick = await setUp({ conditional: true });
    const points = () => forge.forge.rateLimitUsed(forge.token);

    const first = await tick.run({ tickId: "ping-1" });
    expect(first.decision).toMatchObject({ action: "skip", reason: "no_ready_task" });
    const afterFirst = points();
    // The open-PR list and the backlog.
    expect(afterFirst).toBe(2);
    expect(tick.caches.backlogs.stats).toEqual({ hits: 0, parses: 1 });

    const second = await tick.run({ tickId: "ping-2" });
    expect(second.decision).toMatchObject({ action: "skip", reason: "no_ready_task" });
    expect(second.forgeRequests).toBe(2);
    expect(points()).toBe(afterFirst);
    expect(tick.caches.responses.stats.notModified).toBe(2);
    // The backlog came back as a 304: its parse is the one kept by blob sha.
    expect(tick.caches.backlogs.stats).toEqual({ hits: 1, parses: 1 });
    // The config file was read again and was the same text: not parsed again.
    expect(tick.caches.configs.stats).toEqual({ hits: 1, parses: 1 });

    // The backlog changes on main: the next tick pays for it once, parses it and acts on it.
    const clone = await cloneRepo(forge);
    await pushBranch(forge, clone, "main", { [BACKLOG]: oneTaskBacklog("docs-1", true) });
    const third = await tick.run({ tickId: "ping-3" });
    expect(third.decision).toMatchObject({ action: "dispatch", task_id: "docs-1" });
    expect(points()).toBe(afterFirst + 1);
    expect(tick.caches.backlogs.stats).toEqual({ hits: 1, parses: 2 });
    expect(dispatched.map((r) => r.task_id)).toEqual(["docs-1"]);
  });

  it("without the cache every tick pays for both reads (the baseline)", async () => {
    const tick = await setUp({ conditional: false });
    await tick.run({ tickId: "ping-1" });
    await tick.run({ tickId: "ping-2" });
    expect(forge.forge.rateLimitUsed(forge.token)).toBe(4);
    expect(tick.caches.responses.stats.notModified).toBe(0);
  });
});
