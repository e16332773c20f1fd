import type { AutonomyConfig } from "../../config/schema.ts";
import type { TargetState } from "../../control-plane/types.ts";
import type { Skip } from "../types.ts";

/** Rule 3: at most `max_running_attempts` attempts of the target at once. */
export function checkMaxRunningAttempts(config: AutonomyConfig, target: TargetState): Skip | null {
  if (target.running_attempts.length < config.max_running_attempts) return null;
  return {
    reason: "max_running_attempts",
    details: {
      running_attempts: target.running_attempts,
      max_running_attempts: config.max_running_attempts,
    },
  };
}
