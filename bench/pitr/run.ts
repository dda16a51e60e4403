// npm run bench:pitr [-- --minutes 4 --rounds 2 --rate 200 --clients 4 --threads 2 --scale 3 --archive-timeout 60 --no-write | --render]
//
// What continuous WAL archiving (issue 26) costs a project, on the lab's real Docker engine: the same steady write
// load (a TPC-B-like transaction with an event row, at a fixed rate, by pgbench inside the db container; load.ts)
// for the same time against
//   (a) a project database without archiving, and
//   (b) one with archiving (archive_command = wal-archive.sh into the spool, archive_timeout 60 s) and
//       `wal.sh ship` every minute into a local restic repository, as the supafleet-wal@ timer runs it,
// in turns (a, b, a, b: --rounds windows of --minutes / --rounds each), so that the machine's drift (other work on
// it, a cache warming up) falls on both; while two more projects with archiving and none of the load run through
// all the windows (background.ts): (c) idle, one row right after its server started and then nothing, never sent
// a CHECKPOINT by the bench (as a deploy, an upgrade or a restore leaves a server), and (d) trickling, one small
// write every 30 s. Each is the db service of the compose
// file the program renders (tests/helpers/labDb.ts composeDb), its data on tmpfs as the tests have it; the spool and
// the repositories are on this machine's disk. It reports, per minute of load: the spool's growth, the repository's
// growth (what would cross the network to the Storage Box) against the WAL written, the CPU of the archiver and of
// the ships, and the transaction's latency with and without archiving (from pgbench's per-transaction log).
// Results: bench/pitr/results.json, and the tables between the bench:pitr markers of docs/benchmarks.md.
// Run as root, under the lab's lock: flock /tmp/supafleet-lab.lock npm run bench:pitr
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, release as kernel, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { PingListener } from "../../tests/helpers/hcListener";
import { docker } from "../../tests/lab/engine";
import { useEngine } from "../../tests/lab/engineUsers";
import { initLoad, latencyOf, runLoad, type Load, type LoadResult } from "./load";
import { Background } from "./background";
import { archivedTimes, walRecords } from "./measure";
import type { BackgroundResult, LoadWindow, Machine, Reading, Results, Side } from "./results";
import { PitrRig } from "./rig";
import { pitrTables, totals } from "./table";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "4" },
    rounds: { type: "string", default: "2" },
    rate: { type: "string", default: "200" },
    clients: { type: "string", default: "4" },
    threads: { type: "string", default: "2" },
    // The lab's db keeps its data and pg_wal on tmpfs, within its 512 MiB limit: at scale 10 it is OOM-killed.
    scale: { type: "string", default: "3" },
    "archive-timeout": { type: "string", default: "60" },
    "no-write": { type: "boolean", default: false },
    /** Only the tables again, from bench/pitr/results.json, into docs/benchmarks.md: no engine, nothing run. */
    render: { type: "boolean", default: false },
  },
});
const LOAD: Load = {
  rate: Number(values.rate),
  clients: Number(values.clients),
  threads: Number(values.threads),
  seconds: Math.round((Number(values.minutes) * 60) / Number(values.rounds)),
  scale: Number(values.scale),
};
const ROUNDS = Number(values.rounds);
if (Object.values(LOAD).some((v) => !Number.isFinite(v) || v <= 0)) throw new Error(`bad load: ${JSON.stringify(LOAD)}`);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1 || LOAD.seconds < 30) throw new Error("--rounds must be a positive integer, and each window at least 30 s");
const ARCHIVE_TIMEOUT_S = Number(values["archive-timeout"]);
const SHIP_EVERY_S = 60;
const ROOT = join(__dirname, "..", "..");
const DOCS = join(ROOT, "docs/benchmarks.md");
const BEGIN = "<!-- bench:pitr begin -->";
const END = "<!-- bench:pitr end -->";
/** Last octets of the projects' addresses on the lab's veth: used by no test file and no other bench. */
const OCTETS = { plain: 241, archiving: 242, idle: 243, trickle: 244 } as const;
/** How often the trickling project writes a row. */
const TRICKLE_EVERY_S = 30;
/** The scripts whose cost is measured: results say when the checkout's differ from the commit. */
const MEASURED = ["templates/worker/wal.sh", "templates/worker/backup-lib.sh", "templates/supabase/db/wal-archive.sh", "src/supabase/compose.ts"];
const PROGRESS_MS = 30_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const loadAtStart = loadavg()[0]!;
let lastLog = 0;
let step = "starting";
const log = (m: string): void => {
  lastLog = Date.now();
  process.stderr.write(`[bench:pitr ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
};
// Never silent for more than half a minute, whatever it waits on.
const heartbeat = setInterval(() => Date.now() - lastLog > 30_000 && log(`… ${step}`), 5_000);
heartbeat.unref();
const mib = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`;
const clock = (ms: number): string => `${Math.floor(ms / 60_000)}:${String(Math.floor((ms % 60_000) / 1000)).padStart(2, "0")}`;

/**
 * One window: the load on one database for LOAD.seconds, its ship timer (if it archives), and the background
 * projects' timers and writes; readings every 30 s. With archiving, the last ship runs once the load is over and the archiver has
 * caught up, so every segment finished during the window is in the repository when the window ends.
 */
async function loadWindow(r: PitrRig, round: number, background: readonly Background[]): Promise<{ window: LoadWindow; micros: number[] }> {
  step = `vacuum and checkpoint on ${r.name}`;
  r.db.psql("vacuum analyze; checkpoint;");
  await r.flush();
  const shipsBefore = r.timer?.runs.length ?? 0;
  const start = r.read(t0);
  const samples: Reading[] = [];
  step = `the load on ${r.name}`;
  log(`round ${round}/${ROUNDS}, ${r.name}: ${LOAD.rate} tps for ${clock(LOAD.seconds * 1000)}${r.archiving ? `, wal.sh ship every ${SHIP_EVERY_S} s` : ", no archiving"}`);
  const began = Date.now();
  const end = began + LOAD.seconds * 1000;
  r.timer?.start(began);
  let done: { result: LoadResult; micros: number[] } | Error | undefined;
  const load = runLoad(r.container, LOAD).then(
    (x) => (done = x),
    (e: Error) => (done = e),
  );
  let nextSample = began + PROGRESS_MS;
  while (done === undefined) {
    await sleep(1000);
    const now = Date.now();
    // The window's own ships stop 10 s before the load's end: the last one runs after it.
    r.timer?.tick(now, end - 10_000);
    for (const b of background) b.tick(now);
    if (now >= nextSample && done === undefined) {
      nextSample += PROGRESS_MS;
      const s = r.read(t0);
      samples.push(s);
      for (const b of background) b.sample();
      const t = totals([{ project: r.name, archiving: r.archiving, start, end: s, samples: [], ships: r.timer?.runs.slice(shipsBefore) ?? [] }]);
      log(
        `${r.name} ${clock(now - began)}/${clock(LOAD.seconds * 1000)}: WAL ${mib(t.walBytes)} written` +
          (r.archiving ? `, ${t.segments} segments archived, spool +${mib(t.spoolBytes)}, repository +${mib(t.repoBytes)}, ${t.ships} ships (${t.shipCpuS.toFixed(2)} s CPU)` : "") +
          `, db CPU ${t.containerCpuS.toFixed(1)} s, memory peak ${mib(s.memoryPeakBytes)}`,
      );
    }
  }
  await load;
  if (done instanceof Error) throw done;
  const { result, micros } = done as { result: LoadResult; micros: number[] };
  log(`${r.name}: ${result.transactions} transactions, ${result.tps.toFixed(1)} tps, latency avg ${result.latency.averageMs.toFixed(2)} ms, p99 ${result.latency.p99Ms.toFixed(2)} ms`);
  if (r.timer) {
    step = `the last ship of ${r.name}`;
    await r.timer.stop();
    await r.archiverDone();
    await r.timer.ship();
  }
  const ships = r.timer?.runs.slice(shipsBefore) ?? [];
  const failed = ships.filter((s) => s.status !== 0);
  if (failed.length > 0) throw new Error(`${failed.length} of ${r.name}'s ships failed: ${failed[0]!.stderr}`);
  return { window: { round, span: { project: r.name, archiving: r.archiving, start, end: r.read(t0), samples, ships }, result }, micros };
}

function machine(r: PitrRig): Machine {
  const info = docker(["info", "--format", "{{.ServerVersion}}\t{{.CgroupVersion}}\t{{.CgroupDriver}}"]).stdout.trim().split("\t");
  const fs = (path: string): string => execFileSync("findmnt", ["-no", "SOURCE,FSTYPE", "-T", path], { encoding: "utf8" }).trim().replace(/\s+/, " ");
  return {
    cpu: cpus()[0]?.model ?? "?",
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: kernel(),
    spoolDisk: fs(r.project.walRoot),
    dataDisk: fs("/dev/shm"),
    docker: info[0] ?? "?",
    cgroup: `v${info[1] ?? "?"} (${info[2] ?? "?"})`,
    restic: execFileSync("restic", ["version"], { encoding: "utf8" }).trim(),
    postgres: r.db.psql("\\pset tuples_only on\nselect version();").trim(),
    loadAverage: [loadAtStart, loadavg()[0]!],
  };
}

function commit(): Results["commit"] {
  const git = (args: string[]): string => execFileSync("git", ["-C", ROOT, ...args], { encoding: "utf8" }).trim();
  return { head: git(["rev-parse", "HEAD"]), modified: git(["status", "--porcelain", "--", ...MEASURED]).split("\n").filter(Boolean) };
}

/** wal.sh's default WAL_BUCKET_MIB, read from the script the bench ran. */
function spoolBucketMiB(): number | undefined {
  const m = /WAL_BUCKET_MIB:-(\d+)/.exec(readFileSync(join(ROOT, "templates/worker/wal.sh"), "utf8"));
  return m ? Number(m[1]) : undefined;
}

function writeDocs(tables: string): void {
  const text = readFileSync(DOCS, "utf8");
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  if (a < 0 || b < a) {
    log(`no ${BEGIN} … ${END} in docs/benchmarks.md: the tables are printed only`);
    return;
  }
  writeFileSync(DOCS, `${text.slice(0, a + BEGIN.length)}\n${tables}\n${text.slice(b)}`);
  log("tables written between the bench:pitr markers of docs/benchmarks.md");
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("the Docker lab runs as root (network namespaces, dockerd)");
  step = "starting the lab's engine";
  const releaseEngine = useEngine();
  const listener = await new PingListener().start();
  const work = mkdtempSync(join(tmpdir(), "supafleet-bench-pitr-"));
  const url = (p: string): string => listener.url(p);
  const plain = new PitrRig("bp-plain", OCTETS.plain, false, work, url);
  const archiving = new PitrRig("bp-wal", OCTETS.archiving, true, work, url, ARCHIVE_TIMEOUT_S);
  const idleRig = new PitrRig("bp-idle", OCTETS.idle, true, work, url, ARCHIVE_TIMEOUT_S);
  const trickleRig = new PitrRig("bp-trickle", OCTETS.trickle, true, work, url, ARCHIVE_TIMEOUT_S);
  const rigs = [plain, archiving, idleRig, trickleRig];
  let cleaned = false;
  const cleanup = (): void => {
    if (cleaned) return;
    cleaned = true;
    log("cleaning up: containers, volumes, addresses, folders");
    for (const r of rigs) r.stop();
    rmSync(work, { recursive: true, force: true });
    void listener.stop();
    releaseEngine();
  };
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      log(`${sig}: stopping`);
      cleanup();
      process.exit(130);
    });
  }
  try {
    step = "starting four project databases";
    log(`${step} (${rigs.map((r) => `${r.name}${r.archiving ? " archiving" : ""}`).join(", ")})`);
    await Promise.all(rigs.map((r) => r.start()));
    step = `pgbench's tables at scale ${LOAD.scale}`;
    log(step);
    for (const r of [plain, archiving]) await initLoad(r.db, LOAD.scale);
    step = "shipping what the set-up wrote";
    log(step);
    // The trickling project's checkpointer is woken (a CHECKPOINT), as the loaded ones' are before each window; the
    // idle one's is not: a server just started is what a deploy, an upgrade or a restore leaves, and only wal.sh's
    // own prepare (its reload once per start of the container) wakes it.
    trickleRig.db.psql("checkpoint;");
    for (const r of [archiving, idleRig, trickleRig]) await r.flush();
    const idle = new Background(idleRig, t0);
    const trickle = new Background(trickleRig, t0, TRICKLE_EVERY_S * 1000);
    const background = [idle, trickle];
    for (const b of background) b.begin();

    const sides = new Map<PitrRig, { windows: LoadWindow[]; micros: number[] }>([
      [plain, { windows: [], micros: [] }],
      [archiving, { windows: [], micros: [] }],
    ]);
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [rig, side] of sides) {
        const w = await loadWindow(rig, round, background);
        side.windows.push(w.window);
        side.micros.push(...w.micros);
      }
    }
    const side = (rig: PitrRig): Side => ({ windows: sides.get(rig)!.windows, latency: latencyOf(sides.get(rig)!.micros) });
    step = "the last ships of the idle and trickling projects";
    const outcome = async (b: Background): Promise<BackgroundResult> => {
      const span = await b.end();
      return {
        span,
        writeEverySeconds: b.writeEveryMs !== undefined ? b.writeEveryMs / 1000 : undefined,
        writes: b.writes,
        walRecords: walRecords(b.rig.db, span.start.lsn, span.end.lsn),
        serverStartMs: Number(b.rig.one("select extract(epoch from pg_postmaster_start_time())")) * 1000,
        firstRowAtMs: b.firstRowAtMs,
        archivedAtMs: archivedTimes(b.rig.spool.days).filter((t) => t >= b.firstRowAtMs),
        checkpointTimeoutS: Number(b.rig.one("select setting from pg_settings where name = 'checkpoint_timeout'")),
      };
    };

    const results: Results = {
      date: new Date().toISOString().slice(0, 10),
      commit: commit(),
      machine: machine(archiving),
      load: LOAD,
      rounds: ROUNDS,
      archiveTimeoutSeconds: ARCHIVE_TIMEOUT_S,
      shipEverySeconds: SHIP_EVERY_S,
      spoolBucketMiB: spoolBucketMiB(),
      totalSeconds: Math.round((Date.now() - t0) / 1000),
      plain: side(plain),
      archiving: side(archiving),
      idle: await outcome(idle),
      trickle: await outcome(trickle),
    };
    const tables = pitrTables(results);
    console.log(tables);
    if (!values["no-write"]) {
      writeFileSync(RESULTS, JSON.stringify(results, null, 2) + "\n");
      log("results in bench/pitr/results.json");
      writeDocs(tables);
    }
  } finally {
    cleanup();
  }
  log(`done in ${clock(Date.now() - t0)}`);
}

const RESULTS = join(__dirname, "results.json");
const run = values.render ? async (): Promise<void> => writeDocs(pitrTables(JSON.parse(readFileSync(RESULTS, "utf8")) as Results)) : main;
run().catch((e: Error) => {
  log(`failed: ${e.stack ?? e.message}`);
  process.exitCode = 1;
});
