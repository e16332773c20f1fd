import type { AutonomyConfig } from "../../config/schema.ts";
import type { TargetState } from "../../control-plane/types.ts";
import type { Skip } from "../types.ts";

/** Open once the target failed `circuit_breaker_failures` attempts in a row since a success or reset. */
export function isCircuitOpen(config: AutonomyConfig, target: TargetState): boolean {
  return target.consecutive_failures >= config.circuit_breaker_failures;
}

/** Rule 1: an open breaker stops the tick until `circuit.reset`. */
export function checkCircuitBreaker(config: AutonomyConfig, target: TargetState): Skip | null {
  if (!isCircuitOpen(config, target)) return null;
  return {
    reason: "circuit_open",
    details: {
      consecutive_failures: target.consecutive_failures,
      circuit_breaker_failures: config.circuit_breaker_failures,
      last_reset_at: target.last_reset_at,
    },
  };
}
