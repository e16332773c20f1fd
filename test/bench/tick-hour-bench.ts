// A simulated hour of */5 pings for many targets, time compressed: every target's PingSource
// fires 12 times, each ping delivered as the adapter sends it to the real tick handler (one
// process, as the tick's Knative Service runs at max-scale 1), against the local forge (one
// repository per target, one token: one installation) and a real control plane. Measured twice
// in the same run: as shipped (conditional requests, backlog parses kept by blob sha) and with
// both caches off, which is how every tick behaved before.
import { randomBytes, randomUUID } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startControlPlane } from "../../shared/control-plane/server/start-control-plane.ts";
import { spreadSchedules } from "../../shared/deploy/spread-schedules.ts";
import { forgeFromConfig } from "../../shared/forge/github/forge-from-config.ts";
import { startLocalForge } from "../../shared/forge/local/start-local-forge.ts";
import type { LocalForge } from "../../shared/forge/local/types.ts";
import { serveFunction } from "../../shared/local/serve-function.ts";
import { composeTick, type ForgeFactory } from "../../shared/scheduler/compose-tick.ts";
import { parseTickEnv } from "../../shared/scheduler/tick-env.ts";
import { createTickHandler } from "../../shared/scheduler/tick-http-handler.ts";
import { httpRequest } from "../support/http-request.ts";
import { silentLogger } from "../support/store/store-helpers.ts";
import { oneTaskBacklog, targetConfigText } from "../support/target-config.ts";
import { type BenchSection, count, ms, quantile } from "./bench-report.ts";
import type { BenchContext } from "./ingest-bench.ts";

const OWNER = "bench";
const PINGS_PER_HOUR = 12;
/** Pings in flight at once: the adapter sends each minute's pings together. */
const CONCURRENCY = 4;
/** The figure asked for, and what a full run does by default (a 2-core machine: ~150 ms a tick). */
const GOAL_TARGETS = 1_000;
const DEFAULT_TARGETS = 200;

interface HourResult {
  points: number;
  pointsPerRound: number[];
  latencies: number[];
  events: number;
  failures: number;
  seconds: number;
}

export async function benchTickHour(context: BenchContext): Promise<BenchSection> {
  const targets = context.quick
    ? 20
    : Number(process.env.LEVIATHAN_BENCH_TARGETS ?? DEFAULT_TARGETS);
  const oldRounds = context.quick ? 2 : Number(process.env.LEVIATHAN_BENCH_OLD_ROUNDS ?? 12);
  const root = join(context.workDir, "tick-hour");
  const token = `bench-${randomBytes(8).toString("hex")}`;
  const forge = await startLocalForge({ root: join(root, "forge"), token });
  try {
    const names = Array.from({ length: targets }, (_, i) => `t-${String(i).padStart(4, "0")}`);
    const t0 = performance.now();
    const configDir = await seedTargets(root, forge, names);
    const setupSeconds = (performance.now() - t0) / 1000;
    // The order pings come in within an hour: by spread minute, as the PingSources fire.
    const order = spreadSchedules(names.map((target) => ({ target, cron: "*/5 * * * *" })))
      .map((s, i) => ({
        target: s.target,
        minute: Number(/^(\d+)-/.exec(s.schedule)?.[1] ?? 0),
        i,
      }))
      .sort((a, b) => a.minute - b.minute || a.i - b.i)
      .map((s) => s.target);

    const shipped = await simulateHour(
      root,
      "conditional",
      forge,
      token,
      configDir,
      order,
      PINGS_PER_HOUR,
      true,
    );
    const old = await simulateHour(
      root,
      "unconditional",
      forge,
      token,
      configDir,
      order,
      oldRounds,
      false,
    );

    const perTick = (r: HourResult, rounds: number) => r.points / (targets * rounds);
    const oldPerHour = perTick(old, oldRounds) * targets * PINGS_PER_HOUR;
    const warm = shipped.pointsPerRound.slice(1);
    const latency = (r: HourResult) =>
      `p50 ${ms(quantile(r.latencies, 0.5))}, p99 ${ms(quantile(r.latencies, 0.99))}`;

    return {
      title: `Tick: a simulated hour of */5 pings for ${count(targets)} targets (time compressed)`,
      notes: [
        `${count(targets)} targets, one repository each on the local forge, one token (one installation); every backlog unchanged all hour (one task, not ready); the real tick handler, one process, ${CONCURRENCY} pings in flight; a real control plane (NDJSON store)`,
        ...(targets < GOAL_TARGETS && !context.quick
          ? [
              `scaled down from ${count(GOAL_TARGETS)} targets, which take over an hour on a 2-core machine; LEVIATHAN_BENCH_TARGETS=${GOAL_TARGETS} runs them (per-tick figures do not depend on the count)`,
            ]
          : []),
        context.quick ? "quick mode: 20 targets, 2 rounds of the old behaviour" : "",
        `set-up: ${setupSeconds.toFixed(1)} s for the repositories; the hour took ${shipped.seconds.toFixed(1)} s as shipped, ${old.seconds.toFixed(1)} s for ${oldRounds} round(s) without caches`,
        `points per round as shipped: ${shipped.pointsPerRound.join(", ")} (the first round is the cold process: 2 per target)`,
        `failed pings: ${shipped.failures} as shipped, ${old.failures} without caches`,
      ].filter(Boolean),
      rows: [
        {
          measure: "rate-limit points per hour, one installation",
          figure: `${count(shipped.points)} (${(shipped.points / (targets * PINGS_PER_HOUR)).toFixed(2)} per tick; after the first round ${count(warm.reduce((a, b) => a + b, 0))})`,
          baseline: `without conditional requests: ${count(Math.round(oldPerHour))} (${perTick(old, oldRounds).toFixed(2)} per tick${oldRounds < PINGS_PER_HOUR ? `, from ${oldRounds} rounds` : ""})`,
          goal: "an unchanged target costs 0 (after the process's first tick of it)",
          met: warm.every((points) => points === 0),
        },
        {
          measure: "tick latency (ping to decision)",
          figure: latency(shipped),
          baseline: `without caches: ${latency(old)}`,
          goal: "(context)",
        },
        {
          measure: "events stored per hour",
          figure: `${count(shipped.events)} (${(shipped.events / (targets * PINGS_PER_HOUR)).toFixed(1)} per tick)`,
          baseline: `without caches: ${count(Math.round((old.events / oldRounds) * PINGS_PER_HOUR))} per hour`,
          goal: "(context)",
        },
      ],
    };
  } finally {
    await forge.close();
  }
}

async function seedTargets(root: string, forge: LocalForge, names: string[]): Promise<string> {
  const source = join(root, "source");
  await mkdir(join(source, ".leviathan"), { recursive: true });
  await writeFile(join(source, ".leviathan", "backlog.yaml"), oneTaskBacklog("idle", false));
  const configDir = join(root, "configs");
  await mkdir(configDir, { recursive: true });
  await pool(names, 4, async (name) => {
    await forge.createRepository(OWNER, name, { fromDir: source });
    await writeFile(join(configDir, `${name}.yaml`), targetConfigText(name, forge, OWNER, name));
  });
  return configDir;
}

async function simulateHour(
  root: string,
  label: string,
  forge: LocalForge,
  forgeToken: string,
  configDir: string,
  order: string[],
  rounds: number,
  caches: boolean,
): Promise<HourResult> {
  const cpToken = randomBytes(16).toString("hex");
  const dataDir = join(root, `events-${label}`);
  const controlPlane = await startControlPlane({
    dataDir,
    token: cpToken,
    port: 0,
    host: "127.0.0.1",
    logger: silentLogger,
  });
  const env = parseTickEnv(
    {
      LEVIATHAN_CONFIG: join(configDir, `${order[0]}.yaml`),
      LEVIATHAN_HOME: join(root, `home-${label}`),
      CONTROL_PLANE_URL: controlPlane.url,
      CONTROL_PLANE_TOKEN: cpToken,
      GITHUB_TOKEN: forgeToken,
      LEVIATHAN_JOB_RUNNER: "process",
    },
    { requireGateToken: true },
  );
  // The old behaviour: the forge without a reply cache, every backlog parsed.
  const plainForge: ForgeFactory = (config, token, logger) =>
    forgeFromConfig(config, token, logger);
  const tick = composeTick(env, {
    createForge: caches ? forgeFromConfig : plainForge,
    logger: silentLogger,
    dependencies: (deps) => ({
      ...deps,
      jobs: undefined,
      ...(caches ? {} : { backlogCache: undefined }),
    }),
  });
  const served = await serveFunction(
    "tick",
    createTickHandler({ tick, gateToken: cpToken, logger: silentLogger }),
  );
  const latencies: number[] = [];
  const pointsPerRound: number[] = [];
  let failures = 0;
  const start = forge.rateLimitUsed(forgeToken);
  const t0 = performance.now();
  try {
    for (let round = 0; round < rounds; round++) {
      const before = forge.rateLimitUsed(forgeToken);
      await pool(order, CONCURRENCY, async (target) => {
        const body = JSON.stringify({ target });
        const sent = performance.now();
        const reply = await httpRequest(`${served.url}/`, {
          method: "POST",
          headers: {
            "Ce-Id": randomUUID(),
            "Ce-Source": `/apis/v1/namespaces/leviathan/pingsources/leviathan-tick-${target}`,
            "Ce-Specversion": "1.0",
            "Ce-Type": "dev.knative.sources.ping",
            "Content-Type": "application/json",
            "Content-Length": Buffer.byteLength(body),
          },
          body,
        });
        latencies.push(performance.now() - sent);
        if (reply.status !== 200) failures++;
      });
      pointsPerRound.push(forge.rateLimitUsed(forgeToken) - before);
    }
    const seconds = (performance.now() - t0) / 1000;
    const head = await fetch(`${controlPlane.url}/v1/store/head`, {
      headers: { authorization: `Bearer ${cpToken}` },
    });
    const events = ((await head.json()) as { seq: number }).seq;
    return {
      points: forge.rateLimitUsed(forgeToken) - start,
      pointsPerRound,
      latencies,
      events,
      failures,
      seconds,
    };
  } finally {
    await served.close();
    await controlPlane.close();
  }
}

async function pool<T>(items: readonly T[], width: number, run: (item: T) => Promise<void>) {
  let next = 0;
  const workers = Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await run(item);
    }
  });
  await Promise.all(workers);
}
