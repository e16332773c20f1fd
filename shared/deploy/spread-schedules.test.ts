import { describe, expect, it } from "vitest";
import { minutesOf, spreadSchedules } from "./spread-schedules.ts";

/** How many of the schedules fire in each minute of an hour. */
function perMinute(schedules: string[]): number[] {
  const counts = Array.from({ length: 60 }, () => 0);
  for (const schedule of schedules) for (const m of minutesOf(schedule)) counts[m]!++;
  return counts;
}

const targets = (n: number, cron: string) =>
  Array.from({ length: n }, (_, i) => ({ target: `t${i}`, cron }));

describe("spreadSchedules", () => {
  it("puts at most ceil(N/5) of N */5 targets in one minute, each still every 5 minutes", () => {
    for (const n of [1, 4, 5, 12, 1000]) {
      const spread = spreadSchedules(targets(n, "*/5 * * * *"));
      const counts = perMinute(spread.map((s) => s.schedule));
      expect(Math.max(...counts)).toBe(Math.ceil(n / 5));
      for (const s of spread) {
        expect(minutesOf(s.schedule)).toHaveLength(12);
        expect(s.unspread).toBeUndefined();
      }
    }
    // Unspread, all twelve would fire together.
    expect(Math.max(...perMinute(targets(12, "*/5 * * * *").map((t) => t.cron)))).toBe(12);
  });

  it("generalises to */k and keeps the other fields", () => {
    const spread = spreadSchedules(targets(20, "*/15 9-17 * * 1-5"));
    expect(Math.max(...perMinute(spread.map((s) => s.schedule)))).toBe(Math.ceil(20 / 15));
    expect(spread[3]!.schedule).toBe("3-59/15 9-17 * * 1-5");
    expect(spread[15]!.schedule).toBe("*/15 9-17 * * 1-5");
  });

  it("spreads each step on its own", () => {
    const spread = spreadSchedules([
      { target: "a", cron: "*/5 * * * *" },
      { target: "b", cron: "*/10 * * * *" },
      { target: "c", cron: "*/5 * * * *" },
    ]);
    expect(spread.map((s) => s.schedule)).toEqual([
      "*/5 * * * *",
      "*/10 * * * *",
      "1-59/5 * * * *",
    ]);
  });

  it("keeps, and names, a cron it cannot spread", () => {
    const spread = spreadSchedules([
      { target: "hourly", cron: "0 * * * *" },
      { target: "busy", cron: "* * * * *" },
      { target: "listed", cron: "0,30 * * * *" },
    ]);
    expect(spread.map((s) => s.schedule)).toEqual(["0 * * * *", "* * * * *", "0,30 * * * *"]);
    expect(spread.every((s) => s.unspread)).toBe(true);
    expect(spread[1]!.unspread).toMatch(/every minute/);
  });
});
