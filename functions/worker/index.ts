import * as functions from "@google-cloud/functions-framework";
import { createWorkerHandler } from "../../shared/worker/worker-http-handler.ts";

// FUNCTION_TARGET=worker: `leviathan serve worker`, or the framework's own CLI with this file as
// its source. Configured from the environment once, at start.
functions.http("worker", createWorkerHandler({ env: process.env }));
