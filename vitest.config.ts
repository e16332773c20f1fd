import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "shared/**/*.test.ts", "functions/**/*.test.ts"],
    exclude: ["**/node_modules/**", "test/bench/**"],
    // Suites start real servers and child processes; two cores, so keep the pool small.
    pool: "forks",
    // Each test file gets its own HOME and LEVIATHAN_HOME (never the clone's .data/).
    setupFiles: ["test/support/hermetic-setup.ts"],
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
