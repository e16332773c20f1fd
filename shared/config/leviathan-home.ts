/** `LEVIATHAN_HOME`, default `./.data` (relative to the working directory): local mode's files, the store's default home. */
export const DEFAULT_LEVIATHAN_HOME = "./.data";

export function leviathanHome(env: NodeJS.ProcessEnv): string {
  return env.LEVIATHAN_HOME || DEFAULT_LEVIATHAN_HOME;
}
