// The target answer as an object, judged as the server judges it: the reference the kept
// UTF-8 pieces of GET /v1/targets/:target are checked against byte for byte.
import {
  type CronModule,
  type JudgedAnswer,
  judge,
} from "../../shared/control-plane/server/judge-stalled.ts";
import type { TargetView } from "../../shared/control-plane/types.ts";

export function judgeTarget(
  cron: CronModule,
  view: TargetView,
  now: number,
): JudgedAnswer<TargetView> {
  const { changesAt, ...health } = judge(cron, view, now);
  return { body: { ...view, ...health }, validUntil: changesAt };
}
