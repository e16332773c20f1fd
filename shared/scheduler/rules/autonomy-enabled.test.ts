import { describe, expect, it } from "vitest";
import { seedConfig } from "../../../test/scheduler/fixtures.ts";
import { checkAutonomyEnabled } from "./autonomy-enabled.ts";

describe("checkAutonomyEnabled", () => {
  it("skips autonomy_disabled only when switched off", () => {
    expect(checkAutonomyEnabled(seedConfig({ autonomy_enabled: false }))).toEqual({
      reason: "autonomy_disabled",
    });
    // The seed file does not name the field: its default keeps autonomy on.
    expect(checkAutonomyEnabled(seedConfig())).toBeNull();
  });
});
