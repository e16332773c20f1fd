import { describe, expect, it } from "vitest";
import { nextTickAfter } from "./start-local.ts";

describe("nextTickAfter", () => {
  it("is always after the moment asked, even one second past a minute a tick took", () => {
    // A tick that started at 22:16:59 and ended at 22:17:01 must not announce 22:17:00.
    const ended = new Date("2026-12-03T22:17:01.000Z");
    expect(nextTickAfter("* * * * *", ended).toISOString()).toBe("2026-12-03T22:18:00.000Z");
    expect(nextTickAfter("*/5 * * * *", ended).toISOString()).toBe("2026-12-03T22:20:00.000Z");
    const exact = new Date("2026-12-03T22:20:00.000Z");
    expect(nextTickAfter("*/5 * * * *", exact).getTime()).toBeGreaterThan(exact.getTime());
  });
});
