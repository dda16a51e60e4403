// One measurement in a fresh process: `fleet <N>` runs the real program on a
// generated fleet of N projects; `baseline <R>` registers R bare resources
// under the same mock runtime. Prints one JSON line.
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { FleetMocks } from "../../src/offline/mocks";
import { useOfflinePlanProcess } from "../../src/offline/process";
import { runOffline } from "../../src/offline/run";
import { engineConfigFromYaml } from "../../src/offline/stackFile";
import { generatedFleet } from "./fleet";

class Bare extends pulumi.CustomResource {
  constructor(name: string) {
    super("bench:index:Bare", name, {});
  }
}

async function measure(): Promise<void> {
  // As in scripts/plan.ts (src/offline/process.ts says why), for both modes.
  useOfflinePlanProcess();
  const [mode, nText] = process.argv.slice(2);
  const n = Number(nText);
  if ((mode !== "fleet" && mode !== "baseline") || !Number.isInteger(n) || n < 1) {
    console.error("usage: child.ts fleet <projects> | baseline <resources>");
    process.exit(2);
  }
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
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
  // CPU time of all the process's threads (the GC's helpers too): less swayed than wall time by other load on the machine.
  const cpu = process.cpuUsage(cpuStart);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const peakMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ mode, n, resources, ms, cpuMs, peakMiB }) + "\n");
}

measure().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
