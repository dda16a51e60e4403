// npm run bench:plan [-- --repeat 3 --sizes 10,100,500]
//
// Wall time, CPU time and peak memory of the offline plan for generated fleets, each
// beside a baseline that registers the same number of bare resources under the
// same mock runtime, measured in alternating fresh processes in one run.
import { execFileSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

interface Sample {
  mode: string;
  n: number;
  resources: number;
  ms: number;
  cpuMs: number;
  peakMiB: number;
}

const { values } = parseArgs({ options: { repeat: { type: "string", default: "3" }, sizes: { type: "string", default: "10,100,500" } } });
const repeat = Number(values.repeat);
const sizes = values.sizes!.split(",").map(Number);
const loadAtStart = loadavg();
const tsx = join(__dirname, "../../node_modules/tsx/dist/cli.mjs");
const child = join(__dirname, "child.ts");

function sample(mode: "fleet" | "baseline", n: number): Sample {
  const out = execFileSync(process.execPath, [tsx, child, mode, String(n)], { encoding: "utf8", maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split("\n").pop()!) as Sample;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const rows: string[] = [];
let previous: { n: number; ms: number } | undefined;
for (const n of sizes) {
  const fleet: Sample[] = [];
  const base: Sample[] = [];
  for (let i = 0; i < repeat; i++) {
    const f = sample("fleet", n);
    fleet.push(f);
    base.push(sample("baseline", f.resources));
  }
  const fMs = median(fleet.map((s) => s.ms));
  const bMs = median(base.map((s) => s.ms));
  const fCpu = median(fleet.map((s) => s.cpuMs));
  const bCpu = median(base.map((s) => s.cpuMs));
  const fMem = median(fleet.map((s) => s.peakMiB));
  const bMem = median(base.map((s) => s.peakMiB));
  const scaling = previous ? `${(fMs / previous.ms).toFixed(1)}× for ${(n / previous.n).toFixed(0)}× projects` : "—";
  rows.push(
    `| ${n} | ${fleet[0]!.resources} | ${fMs.toFixed(0)} | ${bMs.toFixed(0)} | **${(fMs / bMs).toFixed(2)}×** | ${fCpu.toFixed(0)} | ${bCpu.toFixed(0)} | **${(fCpu / bCpu).toFixed(2)}×** | ${fMem.toFixed(0)} | ${bMem.toFixed(0)} | **${(fMem / bMem).toFixed(2)}×** | ${scaling} |`,
  );
  previous = { n, ms: fMs };
  process.stderr.write(`done: ${n} projects\n`);
}

console.log(`Plan benchmark: median of ${repeat} fresh processes each, ${cpus().length} cores, Node ${process.version}, load average ${loadAtStart[0]!.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end\n`);
console.log("| projects | resources | plan ms | baseline ms | time ratio | plan CPU ms | baseline CPU ms | CPU ratio | plan peak MiB | baseline peak MiB | memory ratio | plan time scaling |");
console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
for (const r of rows) console.log(r);
