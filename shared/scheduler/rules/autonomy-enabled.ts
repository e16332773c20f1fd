import type { AutonomyConfig } from "../../config/schema.ts";
import type { Skip } from "../types.ts";

/** Rule 0: `autonomy_enabled: false` stops the tick before it asks anything. */
export function checkAutonomyEnabled(config: AutonomyConfig): Skip | null {
  return config.autonomy_enabled ? null : { reason: "autonomy_disabled" };
}
