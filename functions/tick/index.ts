import * as functions from "@google-cloud/functions-framework";
import { forgeFromConfig } from "../../shared/forge/github/forge-from-config.ts";
import { createLogger } from "../../shared/log/logger.ts";
import { composeTick } from "../../shared/scheduler/compose-tick.ts";
import { parseTickEnv } from "../../shared/scheduler/tick-env.ts";
import { createTickHandler } from "../../shared/scheduler/tick-http-handler.ts";

// FUNCTION_TARGET=tick: `leviathan serve tick`, or the framework's own CLI with this file as its
// source. The environment is checked once, at start; the tick is composed once per process.
const env = parseTickEnv(process.env, { requireGateToken: true });
const logger = createLogger("tick");
const tick = composeTick(env, { createForge: forgeFromConfig, logger });
functions.http("tick", createTickHandler({ tick, gateToken: env.gateToken ?? "", logger }));
