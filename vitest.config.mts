import { defineConfig } from "vitest/config";

// Pulumi's runtime state is global per process: every test file gets its own fork.
export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts", "policies/**/*.test.ts"],
    pool: "forks",
    isolate: true,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
