// Headless Chromium for the console's tests: Debian's `chromium`, driven by playwright-core
// (which never downloads a browser). CHROMIUM_PATH points at another build elsewhere.
import { existsSync } from "node:fs";
import { type BrowserContext, chromium } from "playwright-core";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** No network beyond loopback, no updates, no first-run pages: a quiet, hermetic browser. */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
  "--disable-default-apps",
  "--disable-extensions",
  // Nothing but loopback resolves: the tests stay on this machine whatever Chromium tries.
  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
];

/** A browser whose profile is `profileDir` (give it a fresh, empty folder). */
export async function launchBrowser(
  profileDir: string,
  options: { width?: number; height?: number; colorScheme?: "light" | "dark" } = {},
): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `no Chromium at ${CHROMIUM_PATH}: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH`,
    );
  }
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: options.width ?? 1280, height: options.height ?? 900 },
    colorScheme: options.colorScheme ?? "light",
    timeout: 30_000,
  });
}
