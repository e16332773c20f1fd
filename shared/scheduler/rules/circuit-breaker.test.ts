import { describe, expect, it } from "vitest";
import { emptyTarget, seedConfig } from "../../../test/scheduler/fixtures.ts";
import { checkCircuitBreaker, isCircuitOpen } from "./circuit-breaker.ts";

describe("circuit breaker", () => {
  const config = seedConfig({ circuit_breaker_failures: 2 });

  it.each([
    [0, false],
    [1, false],
    [2, true],
    [5, true],
  ])("%i consecutive failures of 2 allowed → open: %s", (failures, open) => {
    expect(isCircuitOpen(config, emptyTarget({ consecutive_failures: failures }))).toBe(open);
  });

  it("skips circuit_open with the counts, and closes once a reset brings failures to 0", () => {
    const open = emptyTarget({ consecutive_failures: 2 });
    expect(checkCircuitBreaker(config, open)).toEqual({
      reason: "circuit_open",
      details: { consecutive_failures: 2, circuit_breaker_failures: 2, last_reset_at: null },
    });
    const reset = emptyTarget({ consecutive_failures: 0, last_reset_at: "2025-01-01T00:30:00Z" });
    expect(checkCircuitBreaker(config, reset)).toBeNull();
  });
});
