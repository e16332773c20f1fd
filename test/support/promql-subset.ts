// A small PromQL evaluator for the subset the alert rules use, over scrapes of the real /metrics
// text: selectors with label matchers, `sum|max|min by (…) (…)`, `increase(sel[range])`, `time()`,
// numbers, `+`/`-`, and a comparison with a number (a filter, as in an alert). It refuses a
// metric the exposition never named and a label no sample of the selected metrics has, so a
// rule with a misspelt name or label fails its test instead of silently never firing.

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** One scrape: when (seconds), what each metric's HELP/TYPE said exists, and the samples. */
export interface Scrape {
  at: number;
  metrics: Set<string>;
  /** By metric name (a histogram's `_bucket` etc. under their own names). */
  samples: Map<string, Sample[]>;
}

export function parseExposition(text: string, at: number): Scrape {
  const metrics = new Set<string>();
  const samples = new Map<string, Sample[]>();
  for (const line of text.split("\n")) {
    if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) {
      metrics.add(line.split(" ")[2]!);
      continue;
    }
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[3] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1]!] = pair[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    }
    const list = samples.get(match[1]!) ?? [];
    list.push({ labels, value: Number(match[4]) });
    samples.set(match[1]!, list);
  }
  return { at, metrics, samples };
}

type Value = { kind: "scalar"; value: number } | { kind: "vector"; samples: Sample[] };

interface Matcher {
  name: string;
  op: "=" | "!=";
  value: string;
}

type Node =
  | { type: "number"; value: number }
  | { type: "time" }
  | { type: "selector"; metric: string; matchers: Matcher[] }
  | { type: "increase"; selector: Node & { type: "selector" }; rangeSeconds: number }
  | { type: "aggregate"; op: "sum" | "max" | "min"; by: string[]; expr: Node }
  | { type: "binary"; op: "+" | "-"; left: Node; right: Node }
  | { type: "compare"; op: string; left: Node; right: Node };

const TOKEN =
  /\s*(==|!=|>=|<=|[-+(){}[\],><=]|"(?:[^"\\]|\\.)*"|[0-9]+(?:\.[0-9]+)?[smhd]?|[a-zA-Z_:][a-zA-Z0-9_:]*)/y;

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.trimEnd().length) {
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(text);
    if (!match) throw new Error(`cannot read the expression at ${at}: ${text.slice(at)}`);
    tokens.push(match[1]!);
  }
  return tokens;
}

const DURATION = { s: 1, m: 60, h: 3600, d: 86400 } as const;

export function parseExpression(text: string): Node {
  const tokens = tokenize(text);
  let i = 0;
  const peek = () => tokens[i];
  const take = (expected?: string) => {
    const token = tokens[i++];
    if (token === undefined || (expected !== undefined && token !== expected)) {
      throw new Error(`expected ${expected ?? "more"} at token ${i - 1} of: ${text}`);
    }
    return token;
  };
  const selector = (): Node & { type: "selector" } => {
    const metric = take();
    const matchers: Matcher[] = [];
    if (peek() === "{") {
      take("{");
      while (peek() !== "}") {
        const name = take();
        const op = take();
        if (op !== "=" && op !== "!=") throw new Error(`matcher ${op} is not in the subset`);
        matchers.push({ name, op, value: JSON.parse(take()) as string });
        if (peek() === ",") take(",");
      }
      take("}");
    }
    return { type: "selector", metric, matchers };
  };
  const primary = (): Node => {
    const token = peek();
    if (token === undefined) throw new Error(`unexpected end of: ${text}`);
    if (token === "(") {
      take("(");
      const inner = comparison();
      take(")");
      return inner;
    }
    if (/^[0-9]/.test(token)) return { type: "number", value: Number(take()) };
    if (token === "time") {
      take();
      take("(");
      take(")");
      return { type: "time" };
    }
    if (token === "increase") {
      take();
      take("(");
      const sel = selector();
      take("[");
      const range = take();
      const unit = range.at(-1) as keyof typeof DURATION;
      if (!(unit in DURATION)) throw new Error(`range ${range} needs a unit`);
      take("]");
      take(")");
      return {
        type: "increase",
        selector: sel,
        rangeSeconds: Number(range.slice(0, -1)) * DURATION[unit],
      };
    }
    if (token === "sum" || token === "max" || token === "min") {
      take();
      const by: string[] = [];
      take("by");
      take("(");
      while (peek() !== ")") {
        by.push(take());
        if (peek() === ",") take(",");
      }
      take(")");
      take("(");
      const expr = comparison();
      take(")");
      return { type: "aggregate", op: token, by, expr };
    }
    return selector();
  };
  const additive = (): Node => {
    let left = primary();
    while (peek() === "+" || peek() === "-") {
      const op = take() as "+" | "-";
      left = { type: "binary", op, left, right: primary() };
    }
    return left;
  };
  const comparison = (): Node => {
    const left = additive();
    const op = peek();
    if (op && ["==", "!=", ">", ">=", "<", "<="].includes(op)) {
      take();
      return { type: "compare", op, left, right: additive() };
    }
    return left;
  };
  const node = comparison();
  if (i !== tokens.length) throw new Error(`left over: ${tokens.slice(i).join(" ")}`);
  return node;
}

function selectors(node: Node): Array<Node & { type: "selector" }> {
  switch (node.type) {
    case "selector":
      return [node];
    case "increase":
      return [node.selector];
    case "aggregate":
      return selectors(node.expr);
    case "binary":
    case "compare":
      return [...selectors(node.left), ...selectors(node.right)];
    default:
      return [];
  }
}

/**
 * Every metric a rule names exists in the scrapes and every label it uses is on some sample of
 * the metrics it selects; throws naming the first that is not.
 */
export function checkNames(node: Node, scrapes: readonly Scrape[]): void {
  const labelsOf = (metric: string) => {
    const names = new Set<string>();
    for (const scrape of scrapes) {
      for (const sample of scrape.samples.get(metric) ?? []) {
        for (const name of Object.keys(sample.labels)) names.add(name);
      }
    }
    return names;
  };
  const check = (n: Node): void => {
    if (n.type === "selector") {
      if (!scrapes.some((s) => s.metrics.has(n.metric))) {
        throw new Error(`no metric ${n.metric} in /metrics`);
      }
      const known = labelsOf(n.metric);
      for (const m of n.matchers) {
        if (!known.has(m.name)) throw new Error(`no sample of ${n.metric} has a label ${m.name}`);
      }
    } else if (n.type === "increase") {
      check(n.selector);
    } else if (n.type === "aggregate") {
      check(n.expr);
      const known = new Set(selectors(n.expr).flatMap((s) => [...labelsOf(s.metric)]));
      for (const label of n.by) {
        if (!known.has(label)) throw new Error(`by (${label}): no selected metric has that label`);
      }
    } else if (n.type === "binary" || n.type === "compare") {
      check(n.left);
      check(n.right);
    }
  };
  check(node);
}

function select(samples: readonly Sample[], matchers: readonly Matcher[]): Sample[] {
  return samples.filter((s) =>
    matchers.every((m) =>
      m.op === "=" ? s.labels[m.name] === m.value : s.labels[m.name] !== m.value,
    ),
  );
}

const key = (labels: Record<string, string>) =>
  JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));

/** Evaluates at the time of the last scrape (or `at`), the scrapes being the series' history. */
export function evaluate(node: Node, scrapes: readonly Scrape[], at = scrapes.at(-1)!.at): Value {
  const latest = scrapes.filter((s) => s.at <= at).at(-1);
  if (!latest) throw new Error("no scrape at or before the evaluation time");
  switch (node.type) {
    case "number":
      return { kind: "scalar", value: node.value };
    case "time":
      return { kind: "scalar", value: at };
    case "selector":
      return {
        kind: "vector",
        samples: select(latest.samples.get(node.metric) ?? [], node.matchers),
      };
    case "increase": {
      const inRange = scrapes.filter((s) => s.at <= at && s.at >= at - node.rangeSeconds);
      const bySeries = new Map<string, Sample[]>();
      for (const scrape of inRange) {
        for (const s of select(
          scrape.samples.get(node.selector.metric) ?? [],
          node.selector.matchers,
        )) {
          const list = bySeries.get(key(s.labels)) ?? [];
          list.push(s);
          bySeries.set(key(s.labels), list);
        }
      }
      const samples: Sample[] = [];
      // As Prometheus: a series needs two samples in the range; a drop is a counter reset.
      for (const list of bySeries.values()) {
        if (list.length < 2) continue;
        let total = 0;
        for (let i = 1; i < list.length; i++) {
          const step = list[i]!.value - list[i - 1]!.value;
          total += step >= 0 ? step : list[i]!.value;
        }
        samples.push({ labels: list[0]!.labels, value: total });
      }
      return { kind: "vector", samples };
    }
    case "aggregate": {
      const inner = evaluate(node.expr, scrapes, at);
      if (inner.kind !== "vector") throw new Error(`${node.op} needs a vector`);
      const groups = new Map<string, Sample>();
      for (const s of inner.samples) {
        const labels = Object.fromEntries(
          node.by.filter((l) => l in s.labels).map((l) => [l, s.labels[l]!]),
        );
        const k = key(labels);
        const group = groups.get(k);
        if (!group) groups.set(k, { labels, value: s.value });
        else if (node.op === "sum") group.value += s.value;
        else if (node.op === "max") group.value = Math.max(group.value, s.value);
        else group.value = Math.min(group.value, s.value);
      }
      return { kind: "vector", samples: [...groups.values()] };
    }
    case "binary": {
      const left = evaluate(node.left, scrapes, at);
      const right = evaluate(node.right, scrapes, at);
      const apply = (a: number, b: number) => (node.op === "+" ? a + b : a - b);
      if (left.kind === "scalar" && right.kind === "scalar") {
        return { kind: "scalar", value: apply(left.value, right.value) };
      }
      if (left.kind === "scalar" && right.kind === "vector") {
        return {
          kind: "vector",
          samples: right.samples.map((s) => ({
            labels: s.labels,
            value: apply(left.value, s.value),
          })),
        };
      }
      if (left.kind === "vector" && right.kind === "scalar") {
        return {
          kind: "vector",
          samples: left.samples.map((s) => ({
            labels: s.labels,
            value: apply(s.value, right.value),
          })),
        };
      }
      throw new Error("vector-to-vector arithmetic is not in the subset");
    }
    case "compare": {
      const left = evaluate(node.left, scrapes, at);
      const right = evaluate(node.right, scrapes, at);
      if (left.kind !== "vector" || right.kind !== "scalar") {
        throw new Error("only `vector <op> number` comparisons are in the subset");
      }
      const holds = (v: number) => {
        const b = right.value;
        return node.op === "=="
          ? v === b
          : node.op === "!="
            ? v !== b
            : node.op === ">"
              ? v > b
              : node.op === ">="
                ? v >= b
                : node.op === "<"
                  ? v < b
                  : v <= b;
      };
      return { kind: "vector", samples: left.samples.filter((s) => holds(s.value)) };
    }
  }
}
