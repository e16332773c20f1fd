/**
 * Test-only faults, set in-process (never over HTTP): the next `times` requests that match get
 * this reply instead of the real one, e.g. a 502 for the next list of pulls, or a 403 with
 * `x-ratelimit-remaining: 0`. Rules are consulted in the order they were added.
 */
export interface FaultRule {
  /** Any method when absent. */
  method?: string;
  /** Tested against the request target: path and query, e.g. `/api/v3/repos/o/r/pulls?state=open`. */
  path: RegExp;
  status: number;
  headers?: Record<string, string>;
  /** A string is sent as it is; anything else as JSON. Default: GitHub's error shape. */
  body?: unknown;
  times: number;
  /** Cut the connection instead of replying (a network failure). */
  reset?: boolean;
  /**
   * Hold the request this long first (a slow forge, for client deadlines). With `status: 0`
   * the real reply follows the delay; otherwise the fault's. The wait ends early when the
   * client goes away, and then nothing is done.
   */
  delayMs?: number;
}

export interface FaultHandle {
  /** How many requests this rule has answered. */
  readonly used: number;
  readonly remaining: number;
}

export interface FaultInjector {
  add(rule: FaultRule): FaultHandle;
  /** Removes every rule not yet used up. */
  clear(): void;
  /** The rule that answers this request, used up by one; undefined for a normal reply. */
  take(method: string, path: string): FaultRule | undefined;
}

interface ActiveRule {
  rule: FaultRule;
  used: number;
}

export function createFaultInjector(): FaultInjector {
  let rules: ActiveRule[] = [];
  return {
    add(rule) {
      if (!Number.isInteger(rule.times) || rule.times < 1) {
        throw new Error("a fault needs times ≥ 1");
      }
      if (rule.delayMs !== undefined && !(rule.delayMs >= 0)) {
        throw new Error("a fault's delayMs must be ≥ 0");
      }
      // A global or sticky pattern would carry `lastIndex` from one request to the next.
      const path = new RegExp(rule.path.source, rule.path.flags.replace(/[gy]/g, ""));
      const active: ActiveRule = { rule: { ...rule, path }, used: 0 };
      rules.push(active);
      return {
        get used() {
          return active.used;
        },
        get remaining() {
          return active.rule.times - active.used;
        },
      };
    },
    clear() {
      rules = [];
    },
    take(method, path) {
      const found = rules.find(
        ({ rule }) =>
          (rule.method === undefined || rule.method.toUpperCase() === method.toUpperCase()) &&
          rule.path.test(path),
      );
      if (!found) return undefined;
      found.used++;
      if (found.used >= found.rule.times) rules = rules.filter((active) => active !== found);
      return found.rule;
    },
  };
}
