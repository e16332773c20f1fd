import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { HttpFunction } from "@google-cloud/functions-framework";
import * as functions from "@google-cloud/functions-framework";

export interface ServedFunction {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves an HTTP function through the functions framework's own server (the express app its CLI
 * runs on Knative) on loopback, in this process: local mode's tick and worker.
 */
export async function serveFunction(
  name: string,
  handler: HttpFunction,
  port = 0,
): Promise<ServedFunction> {
  functions.http(name, handler);
  const { getTestServer } = await import("@google-cloud/functions-framework/testing");
  const server: Server = getTestServer(name);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.setTimeout(0);
  const { port: actual } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${actual}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
