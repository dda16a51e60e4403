// One measurement in a fresh process: `fleet <N>` runs the real program on a
// generated fleet of N projects; `baseline <R>` registers R bare resources
// under the same mock runtime. Prints one JSON line.
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { FleetMocks } from "../../src/offline/mocks";
import { runOffline } from "../../src/offline/run";
import { engineConfigFromYaml } from "../../src/offline/stackFile";
import { generatedFleet } from "./fleet";

class Bare extends pulumi.CustomResource {
  constructor(name: string) {
    super("bench:index:Bare", name, {});
  }
}

async function measure(): Promise<void> {
  // As in scripts/plan.ts: Pulumi captures a stack trace for every promise and
  // resource, and source-mapping each one would dominate the run.
  process.setSourceMapsEnabled(false);
  const [mode, nText] = process.argv.slice(2);
  const n = Number(nText);
  if ((mode !== "fleet" && mode !== "baseline") || !Number.isInteger(n) || n < 1) {
    console.error("usage: child.ts fleet <projects> | baseline <resources>");
    process.exit(2);
  }
  const start = process.hrtime.bigint();
  let resources = n;
  if (mode === "fleet") {
    const config = engineConfigFromYaml(stringify({ config: generatedFleet(n) }), "bench");
    const snapshot = await runOffline("bench", config);
    if (snapshot.error !== undefined) throw new Error(snapshot.error);
    resources = snapshot.resources.length;
  } else {
    await pulumi.runtime.setMocks(new FleetMocks(), "supafleet", "bench", false);
    await pulumi.runtime.runInPulumiStack(async () => {
      for (let i = 0; i < n; i++) new Bare(`bare-${i}`);
      return {};
    });
    await (pulumi.runtime as unknown as { waitForRPCs: () => Promise<void> }).waitForRPCs();
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const peakMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ mode, n, resources, ms, peakMiB }) + "\n");
}

measure().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
