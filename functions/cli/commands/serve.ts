import { existsSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { errorMessage } from "../../../shared/errors/error-message.ts";
import { stopSignal } from "../../../shared/process/stop-signal.ts";
import { type Command, UsageError } from "../command.ts";

const FUNCTIONS = ["tick", "worker"] as const;
/** In-flight requests get this long after SIGTERM before their connections are cut. */
const DRAIN_MS = 10_000;

function parsePort(value: string | undefined): number {
  if (value === undefined || value === "") return 8080;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new UsageError(`PORT must be a port number (0-65535), not ${JSON.stringify(value)}`);
  }
  return port;
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const cut = setTimeout(() => server.closeAllConnections(), DRAIN_MS);
    cut.unref();
    server.close(() => {
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
}

export const command: Command = {
  usage: "leviathan serve tick|worker",
  summary:
    "Serve one function's HTTP server through the functions framework, as its Knative Service runs it.",
  help:
    "Loads functions/<name>/index (which registers the function with the framework) and serves it.\n\n" +
    "Environment:\n" +
    "  PORT                  port to listen on (default 8080; 0 picks a free one)\n" +
    "  CONTROL_PLANE_TOKEN   bearer token the function requires (required; or\n" +
    "                        CONTROL_PLANE_TOKEN_FILE, a file holding it)\n" +
    "  GITHUB_TOKEN          the forge's token (or GITHUB_TOKEN_FILE)\n" +
    "  LEVIATHAN_CONFIG      autonomy config; other targets' files sit beside it\n" +
    "  LEVIATHAN_JOB_RUNNER  worker only: kubernetes (default) or process\n\n" +
    "Prints '<name> listening on <url>' once it accepts requests. Stops on SIGTERM or SIGINT:\n" +
    "finishes in-flight requests, then exits 0.",
  async run({ positionals, env, stdout, stderr }) {
    const [name, ...rest] = positionals;
    if (!name || rest.length > 0 || !(FUNCTIONS as readonly string[]).includes(name)) {
      throw new UsageError("name one function: tick or worker");
    }
    const port = parsePort(env.PORT);
    // From the sources (tsx) or from dist/ (the image), the entry point sits beside this CLI.
    const extension = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
    const source = new URL(`../../${name}/index${extension}`, import.meta.url);
    if (!existsSync(fileURLToPath(source))) {
      stderr.write(
        `leviathan serve ${name}: functions/${name}/index${extension} does not exist yet, so there is no ${name} function to serve\n`,
      );
      return 1;
    }
    try {
      await import(source.href);
    } catch (error) {
      stderr.write(
        `leviathan serve ${name}: cannot start the ${name} function: ${errorMessage(error)}\n`,
      );
      return 1;
    }
    // The framework's programmatic server (the same express app its CLI serves) for the function
    // the import just registered; one function per process, as on Knative.
    const { getTestServer } = await import("@google-cloud/functions-framework/testing");
    let server: Server;
    try {
      server = getTestServer(name);
    } catch (error) {
      stderr.write(`leviathan serve ${name}: ${errorMessage(error)}\n`);
      return 1;
    }
    const stop = stopSignal();
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, () => {
          server.off("error", reject);
          resolve();
        });
      });
    } catch (error) {
      stderr.write(
        `leviathan serve ${name}: cannot listen on port ${port}: ${errorMessage(error)}\n`,
      );
      return 1;
    }
    // As the framework's own CLI does: a long request (a slow API server) is not cut by Node.
    server.setTimeout(0);
    const { port: actual } = server.address() as AddressInfo;
    stdout.write(`${name} listening on http://localhost:${actual}/\n`);
    const signal = await stop;
    stderr.write(`leviathan serve ${name}: ${signal}: finishing in-flight requests\n`);
    await close(server);
    return 0;
  },
};
