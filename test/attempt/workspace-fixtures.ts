// The trusted part's steps around an executor, without the control plane or the forge: clone
// (no work tree), the executor's checkout made and handed over, a real shell script run as the
// `command` executor — as another user in its own PID namespace when the tests run as root, as
// CI runs them — and the change scanned back.
import { join } from "node:path";
import { outcomeFailure, runCommand } from "../../shared/attempt/executors/command.ts";
import { detectIsolation } from "../../shared/attempt/isolation/detect-isolation.ts";
import type {
  ExecutorIsolation,
  IsolationUnavailable,
} from "../../shared/attempt/isolation/executor-isolation.ts";
import {
  createExecutorArea,
  type ExecutorArea,
  executorAreaAt,
} from "../../shared/attempt/workspace/executor-area.ts";
import {
  type MaterializedCheckout,
  materializeCheckout,
} from "../../shared/attempt/workspace/materialize-checkout.ts";
import { type ExecutorChange, scanChanges } from "../../shared/attempt/workspace/scan-changes.ts";
import { cloneShallow } from "../../shared/git/clone-shallow.ts";
import { headSha } from "../../shared/git/head-sha.ts";
import { listTree, type TreeEntry } from "../../shared/git/list-tree.ts";
import { shellScript } from "./executor-fixtures.ts";
import { type Origin, openDir, quietLogger, tempDir } from "./git-fixtures.ts";

export interface PreparedWorkspace {
  trusted: string;
  base: string;
  tree: Map<string, TreeEntry>;
  area: ExecutorArea;
  materialized: MaterializedCheckout;
  isolation: ExecutorIsolation;
}

/** The isolation this machine gives, which must be available (the tests run as root). */
export async function testIsolation(): Promise<ExecutorIsolation> {
  const found: ExecutorIsolation | IsolationUnavailable = await detectIsolation({
    setting: "required",
    executorUid: 65534,
  });
  if ("unavailable" in found) throw new Error(`these tests need root: ${found.unavailable}`);
  return found;
}

export async function prepareWorkspace(origin: Origin): Promise<PreparedWorkspace> {
  const trusted = join(tempDir(), "trusted");
  await cloneShallow({ url: origin.url, branch: "main", dir: trusted, noCheckout: true });
  const base = await headSha(trusted);
  const tree = await listTree(trusted, base);
  const isolation = await testIsolation();
  const area = executorAreaAt(join(openDir("leviathan-area-"), "area"));
  await createExecutorArea(area, isolation.handOver, { id: "scoped" });
  const materialized = await materializeCheckout({
    trustedDir: trusted,
    tree,
    checkout: area.checkout,
    how: isolation.handOver,
  });
  return { trusted, base, tree, area, materialized, isolation };
}

/** Runs `script` (sh, `set -e`) as the executor in the prepared checkout; throws if it failed. */
export async function runScript(prepared: PreparedWorkspace, script: string): Promise<void> {
  const command = [shellScript(`set -e\n${script}`)];
  const outcome = await runCommand({
    command,
    area: prepared.area,
    isolation: prepared.isolation,
    deadline: new Date(Date.now() + 60_000),
    logger: quietLogger,
    secrets: [],
  });
  const failure = outcomeFailure(command[0]!, outcome);
  if (failure) throw failure;
}

export function scan(prepared: PreparedWorkspace): Promise<ExecutorChange[]> {
  return scanChanges({
    checkout: prepared.area.checkout,
    tree: prepared.tree,
    stamps: prepared.materialized.stamps,
    skipped: prepared.materialized.skipped,
  });
}
