// Each alert rule of ops/prometheus/leviathan-rules.yaml evaluated against the real /metrics text
// of a control plane holding a real history, scraped twice: the rules fire for exactly the
// targets that are in trouble, and a rule naming a metric or label /metrics lacks fails here.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { attemptIdFor } from "../../shared/events/ids.ts";
import { attemptRequestedEvent } from "../../shared/scheduler/scheduler-events.ts";
import {
  call,
  startTestControlPlane,
  type TestControlPlane,
  TOKEN,
} from "../control-plane/support.ts";
import { consoleHistory, recordHistory } from "../support/console-history.ts";
import {
  checkNames,
  evaluate,
  parseExposition,
  parseExpression,
  type Scrape,
} from "../support/promql-subset.ts";

interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: string };
  annotations: { summary: string; description: string };
}

const RULES_FILE = join(
  import.meta.dirname,
  "..",
  "..",
  "ops",
  "prometheus",
  "leviathan-rules.yaml",
);
const rules = (
  parse(readFileSync(RULES_FILE, "utf8")) as { groups: Array<{ rules: Rule[] }> }
).groups.flatMap((g) => g.rules);

let cp: TestControlPlane;
const scrapes: Scrape[] = [];
const started = Date.now();

async function scrape(at: number): Promise<void> {
  const reply = await call(cp.url, "/metrics");
  expect(reply.status).toBe(200);
  scrapes.push(parseExposition(reply.text, at));
}

beforeAll(async () => {
  cp = await startTestControlPlane();
  await recordHistory(cp.url, TOKEN, consoleHistory(new Date(started)));
  await scrape(started / 1000);
  // Ten minutes later (as Prometheus would see it), three more of gamma's attempts failed.
  const events = [3, 4, 5].flatMap((n) => {
    const id = attemptIdFor("gamma", "fix-build", n);
    const ids = { attempt_id: id, task_id: "fix-build", target_id: "gamma", attempt_number: n };
    const at = new Date(started - 60_000);
    return [
      attemptRequestedEvent({ ...ids, config: "dev.yaml" }, at),
      {
        event_id: `${id}.attempt.failed`,
        event_type: "attempt.failed",
        timestamp: at.toISOString(),
        actor_id: "attempt",
        payload: {
          ...ids,
          reason: n === 5 ? "made_up_reason" : "executor_failed",
          error_summary: "x",
        },
      },
    ];
  });
  const reply = await call(cp.url, "/v1/events/ingest", {
    method: "POST",
    body: { target: "gamma", bundle_id: "more-failures", events },
  });
  expect(reply.json.ingested).toBe(6);
  await scrape(started / 1000 + 600);
});

afterAll(async () => {
  await cp.cleanup();
});

function firing(rule: Rule, at?: number): string[] {
  const node = parseExpression(rule.expr);
  checkNames(node, scrapes);
  const value = evaluate(node, scrapes, at);
  if (value.kind !== "vector") throw new Error(`${rule.alert} is not a vector expression`);
  return value.samples.map((s) => s.labels.target ?? "").sort();
}

function rule(name: string): Rule {
  const found = rules.find((r) => r.alert === name);
  if (!found) throw new Error(`no rule ${name}`);
  return found;
}

describe("the per-target series of /metrics", () => {
  it("has each target's last tick, breaker, running attempts, open PRs, attempts by status and failures by reason", () => {
    const last = scrapes.at(-1)!;
    const value = (metric: string, labels: Record<string, string>) =>
      last.samples
        .get(metric)
        ?.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(value("leviathan_circuit_open", { target: "gamma" })).toBe(1);
    expect(value("leviathan_circuit_open", { target: "alpha" })).toBe(0);
    expect(value("leviathan_running_attempts", { target: "alpha" })).toBe(1);
    expect(value("leviathan_open_prs", { target: "alpha" })).toBe(1);
    expect(value("leviathan_tick_stalled", { target: "beta" })).toBe(1);
    expect(value("leviathan_attempts", { target: "gamma", status: "failed" })).toBe(5);
    expect(value("leviathan_attempts", { target: "alpha", status: "succeeded" })).toBe(1);
    expect(
      value("leviathan_attempt_failures_total", { target: "gamma", reason: "executor_failed" }),
    ).toBe(4);
    expect(value("leviathan_attempt_failures_total", { target: "gamma", reason: "timeout" })).toBe(
      undefined,
    );
    // An unknown reason does not make a label of its own.
    expect(value("leviathan_attempt_failures_total", { target: "gamma", reason: "other" })).toBe(1);
    expect(
      last.samples
        .get("leviathan_attempt_failures_total")
        ?.some((s) => s.labels.reason === "made_up_reason"),
    ).toBe(false);
    const tick = value("leviathan_last_tick_timestamp_seconds", { target: "beta" });
    expect(tick).toBeCloseTo(started / 1000 - 180 * 60, 0);
  });
});

describe("each alert rule against the real /metrics", () => {
  it("every rule is complete: expression, for, severity, summary and description", () => {
    expect(rules.map((r) => r.alert).sort()).toEqual([
      "LeviathanAttemptsFailing",
      "LeviathanCircuitOpen",
      "LeviathanTaskBlocked",
      "LeviathanTickSilent",
      "LeviathanTickStalled",
    ]);
    for (const r of rules) {
      expect(r.for).toMatch(/^[0-9]+[smh]$/);
      expect(["warning", "critical"]).toContain(r.labels.severity);
      expect(r.annotations.summary).toContain("{{ $labels.target }}");
      expect(r.annotations.description.length).toBeGreaterThan(10);
    }
  });

  it("LeviathanTickStalled fires for the stalled target only", () => {
    expect(firing(rule("LeviathanTickStalled"))).toEqual(["beta"]);
  });

  it("LeviathanTickSilent fires only once a day passed without a tick", () => {
    expect(firing(rule("LeviathanTickSilent"))).toEqual([]);
    expect(firing(rule("LeviathanTickSilent"), started / 1000 + 2 * 86400)).toEqual([
      "alpha",
      "beta",
      "gamma",
    ]);
  });

  it("LeviathanCircuitOpen fires for the target whose breaker is open", () => {
    expect(firing(rule("LeviathanCircuitOpen"))).toEqual(["gamma"]);
  });

  it("LeviathanTaskBlocked fires for the target with a blocked task", () => {
    expect(firing(rule("LeviathanTaskBlocked"))).toEqual(["gamma"]);
  });

  it("LeviathanAttemptsFailing fires for the target whose attempts failed between the scrapes", () => {
    expect(firing(rule("LeviathanAttemptsFailing"))).toEqual(["gamma"]);
    // At the first scrape alone there is no increase to see.
    expect(firing(rule("LeviathanAttemptsFailing"), started / 1000)).toEqual([]);
  });

  it("a rule with a misspelt metric or label fails its check", () => {
    for (const r of rules) {
      const metric = /leviathan_[a-z_]+/.exec(r.expr)![0];
      expect(() => firing({ ...r, expr: r.expr.replace(metric, `${metric}s`) }), r.alert).toThrow(
        /no metric/,
      );
      expect(
        () => firing({ ...r, expr: r.expr.replace("by (target)", "by (targets)") }),
        r.alert,
      ).toThrow(/by \(targets\)/);
    }
    expect(() =>
      firing({
        ...rule("LeviathanCircuitOpen"),
        expr: 'max by (target) (leviathan_circuit_open{reason="x"}) == 1',
      }),
    ).toThrow(/label reason/);
  });
});
