/** `LEVIATHAN_HOME`, default `./.data` (DESIGN §2, §11): local mode's files, the store's default home. */
export const DEFAULT_LEVIATHAN_HOME = "./.data";

export function leviathanHome(env: NodeJS.ProcessEnv): string {
  return env.LEVIATHAN_HOME || DEFAULT_LEVIATHAN_HOME;
}
