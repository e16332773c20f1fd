import * as functions from "@google-cloud/functions-framework";
import { forgeFromConfig } from "../../shared/forge/github/forge-from-config.ts";
import { createTickHandler } from "../../shared/scheduler/tick-http-handler.ts";

// FUNCTION_TARGET=tick: `leviathan serve tick`, or the framework's own CLI with this file as its
// source. Configured from the environment once, at start.
functions.http("tick", createTickHandler({ env: process.env, createForge: forgeFromConfig }));
