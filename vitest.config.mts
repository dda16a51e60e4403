import { defineConfig } from "vitest/config";

// A line per test as it ends and a heartbeat while one runs long; with
// SUPAFLEET_TEST_REPORT set (as .ci/run does), also vitest's JSON report there.
const report = process.env.SUPAFLEET_TEST_REPORT;

export default defineConfig({
  test: {
    pool: "forks",
    // The lab's real Docker engine: started once for the run, stopped after it (tests/lab/globalSetup.ts).
    globalSetup: ["./tests/lab/globalSetup.ts"],
    // vitest's default is one fewer than the cores: one worker on a 2-core CI machine. The integration
    // tests spend much of their time waiting (WireGuard handshakes, healthchecks, n8n), so four keep both
    // cores busy; five gained nothing and starved the nmap sweeps (docs/benchmarks.md).
    maxWorkers: 4,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ["./tests/helpers/progressReporter.ts", ...(report ? [["json", { outputFile: report }] as [string, object]] : [])],
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["tests/unit/**/*.test.ts", "tests/policies/**/*.test.ts", "tests/architecture/**/*.test.ts", "policies/**/*.test.ts"],
          // A worker runs file after file with the modules it has loaded: importing the Pulumi SDK and
          // the providers' was about 1.7 s of CPU per file, a fifth of the suite's. Each offline run
          // installs its own mocks and config and lets go of what it fixed (src/offline/run.ts).
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["tests/integration/**/*.test.ts"],
          // Each file starts servers, engines and namespaces of its own: a fresh fork for each.
          isolate: true,
        },
      },
    ],
  },
});
