import { defineConfig } from "vitest/config";

// A line per test as it ends and a heartbeat while one runs long; with
// SUPAFLEET_TEST_REPORT set (as .ci/run does), also vitest's JSON report there.
const report = process.env.SUPAFLEET_TEST_REPORT;

// Pulumi's runtime state is global per process: every test file gets its own fork.
export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts", "policies/**/*.test.ts"],
    pool: "forks",
    // The lab's real Docker engine: started once for the run, stopped after it (tests/lab/globalSetup.ts).
    globalSetup: ["./tests/lab/globalSetup.ts"],
    isolate: true,
    // vitest's default is one fewer than the cores: one worker on a 2-core CI machine. The integration
    // tests spend most of their time waiting on PostgreSQL, restic and wireguard-go, so two overlap well.
    maxWorkers: 3,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ["./tests/helpers/progressReporter.ts", ...(report ? [["json", { outputFile: report }] as [string, object]] : [])],
  },
});
