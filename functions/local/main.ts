import { runLocal } from "../../shared/local/start-local.ts";

/** `npm start` / `leviathan start`: everything on this machine, one command. */
export function startLocal(options: {
  env: NodeJS.ProcessEnv;
  once: boolean;
  json: boolean;
  out: NodeJS.WritableStream;
}) {
  return runLocal(options);
}
