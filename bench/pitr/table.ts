import type { BackgroundResult, Reading, Results, Side, Span } from "./results";
import type { ShipRun } from "./ship";

const MiB = 1 << 20;
const f = (x: number, digits = 1): string => (Number.isFinite(x) ? x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits }) : "—");
const ratio = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}×` : "—");
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** What spans add up to: bytes and CPU seconds between each one's two readings, and their ships. */
export function totals(spans: readonly Span[]) {
  const each = (g: (s: Span) => number): number => sum(spans.map(g));
  const delta = (g: (r: Reading) => number) => (s: Span): number => g(s.end) - g(s.start);
  const ships = spans.flatMap((s) => s.ships);
  return {
    minutes: each((s) => (s.end.atMs - s.start.atMs) / 60_000),
    walBytes: each(delta((r) => r.lsn)),
    segments: each(delta((r) => r.archived)),
    failed: each(delta((r) => r.failed)),
    pgWalBytes: spans.at(-1)?.end.pgWalBytes ?? NaN,
    containerCpuS: each(delta((r) => r.containerCpuS)),
    archiverCpuS: each(delta((r) => r.archiverCpuS ?? NaN)),
    spoolBytes: each(delta((r) => r.spoolIncomingBytes + r.spoolDaysBytes)),
    shippedBytes: each(delta((r) => r.spoolDaysBytes)),
    repoBytes: each(delta((r) => r.repoBytes)),
    cacheBytes: spans.at(-1)?.end.cacheBytes ?? NaN,
    memoryPeakBytes: Math.max(...spans.map((s) => s.end.memoryPeakBytes)),
    ships: ships.length,
    shipCpuS: sum(ships.map((r) => r.userS + r.sysS)),
    shipWallMeanS: ships.length ? sum(ships.map((r) => r.wallS)) / ships.length : NaN,
    shipWallMaxS: ships.length ? Math.max(...ships.map((r) => r.wallS)) : NaN,
  };
}

/** Mean CPU of the ships that found nothing to ship, and of those that backed segments up with restic ("shipped n file(s)"). */
function shipKinds(span: Span): string {
  const mean = (xs: readonly ShipRun[]): string => (xs.length ? `${f(sum(xs.map((r) => r.userS + r.sysS)) / xs.length, 2)} (${xs.length})` : "—");
  const shipped = span.ships.filter((r) => /shipped \d+ file/.test(r.stderr));
  return `${mean(span.ships.filter((r) => !shipped.includes(r)))} / ${mean(shipped)}`;
}

/** The tables of docs/benchmarks.md's section on point-in-time recovery, from one run's results. */
export function pitrTables(r: Results): string {
  const spans = (s: Side): Span[] => s.windows.map((w) => w.span);
  const a = totals(spans(r.plain));
  const b = totals(spans(r.archiving));
  const idle = totals([r.idle.span]);
  const trickle = totals([r.trickle.span]);
  /** When the first segment after the first row reached the spool, counted from `from`. */
  const firstAfter = (x: BackgroundResult, from: number): string => (x.archivedAtMs.length ? `${f((x.archivedAtMs[0]! - from) / 1000, 0)} s` : "none");
  /** Minutes of load on each database. */
  const min = (r.load.seconds * r.rounds) / 60;
  const la = r.plain.latency;
  const lb = r.archiving.latency;
  const lat = (name: string, key: keyof typeof la): string => `| latency ${name}, ms | ${f(la[key], 2)} | ${f(lb[key], 2)} | ${ratio(lb[key] / la[key])} |`;
  const perRound = (s: Side, key: "averageMs" | "p99Ms"): string => s.windows.map((w) => f(w.result.latency[key], 2)).join(" / ");
  const tx = (s: Side): number => sum(s.windows.map((w) => w.result.transactions));
  const tps = (s: Side): number => tx(s) / sum(s.windows.map((w) => w.result.transactions / w.result.tps));
  const perDayGiB = ((b.spoolBytes / min) * 1440) / (1 << 30);
  return [
    `Load: ${r.load.rate} transactions/s (\`pgbench -R\`), ${r.load.clients} clients, scale ${r.load.scale} (${f(r.load.scale * 100_000, 0)} accounts), ` +
      `${r.rounds} windows of ${f(r.load.seconds / 60, 1)} min on each database, in turns (without, with, without, with …): ${f(min, 0)} min each; ` +
      `archive_timeout ${r.archiveTimeoutSeconds} s; \`wal.sh ship\` every ${r.shipEverySeconds} s at nice 5, as the timer runs it, and once more at each window's end.`,
    "",
    "| | without archiving | with archiving | with / without |",
    "|---|---:|---:|---:|",
    `| transactions (tps) | ${f(tx(r.plain), 0)} (${f(tps(r.plain))}) | ${f(tx(r.archiving), 0)} (${f(tps(r.archiving))}) | |`,
    lat("average", "averageMs"),
    lat("p50", "p50Ms"),
    lat("p95", "p95Ms"),
    lat("p99", "p99Ms"),
    lat("max", "maxMs"),
    `| latency average by window, ms | ${perRound(r.plain, "averageMs")} | ${perRound(r.archiving, "averageMs")} | |`,
    `| latency p99 by window, ms | ${perRound(r.plain, "p99Ms")} | ${perRound(r.archiving, "p99Ms")} | |`,
    `| WAL written, MiB per minute | ${f(a.walBytes / MiB / min)} | ${f(b.walBytes / MiB / min)} | ${ratio(b.walBytes / a.walBytes)} |`,
    `| pg_wal at the end, MiB | ${f(a.pgWalBytes / MiB, 0)} | ${f(b.pgWalBytes / MiB, 0)} | |`,
    `| db container CPU, s per minute of load | ${f(a.containerCpuS / min, 2)} | ${f(b.containerCpuS / min, 2)} | ${ratio(b.containerCpuS / a.containerCpuS)} |`,
    `| db container memory peak (its data on tmpfs included), MiB | ${f(a.memoryPeakBytes / MiB, 0)} | ${f(b.memoryPeakBytes / MiB, 0)} | |`,
    "",
    `What archiving adds, on the database with archiving (${f(min, 0)} min of load):`,
    "",
    "| | per minute of load | per segment | whole run |",
    "|---|---:|---:|---:|",
    `| segments archived (16 MiB each) | ${f(b.segments / min, 2)} | 1 | ${b.segments} |`,
    `| spool growth (incoming/ + days/), MiB | ${f(b.spoolBytes / MiB / min)} | ${f(b.spoolBytes / MiB / b.segments)} | ${f(b.spoolBytes / MiB)} |`,
    `| repository growth (what goes to the Storage Box), MiB | ${f(b.repoBytes / MiB / min, 2)} | ${f(b.repoBytes / MiB / b.segments, 2)} | ${f(b.repoBytes / MiB, 2)} |`,
    `| archiver CPU (archive_command: sh, bash, dd with fsync, mv, sync), s | ${f(b.archiverCpuS / min, 3)} | ${f(b.archiverCpuS / b.segments, 3)} | ${f(b.archiverCpuS, 2)} |`,
    `| \`wal.sh ship\` CPU (user + sys: bash, restic, curl, docker's client), s | ${f(b.shipCpuS / min, 2)} | ${f(b.shipCpuS / b.segments, 2)} | ${f(b.shipCpuS, 2)} in ${b.ships} ships |`,
    "",
    "| | |",
    "|---|---:|",
    `| repository growth / segments shipped | ${f((100 * b.repoBytes) / b.shippedBytes)}% |`,
    `| repository growth / WAL written | ${f((100 * b.repoBytes) / b.walBytes)}% |`,
    `| \`wal.sh ship\` wall time, mean / max, s | ${f(b.shipWallMeanS)} / ${f(b.shipWallMaxS)} |`,
    r.spoolBucketMiB !== undefined
      ? `| a spool folder of ${r.spoolBucketMiB} MiB (WAL_BUCKET_MIB, then folded) fills at this rate in, min | ${f(r.spoolBucketMiB / (b.spoolBytes / MiB / min), 0)} |`
      : `| the spool by the end of a UTC day at this rate, GiB | ${f(perDayGiB)} |`,
    `| restic's cache at the end, MiB | ${f(b.cacheBytes / MiB, 2)} |`,
    "",
    `Two projects with archiving and none of the load, through all ${r.rounds * 2} windows: one idle (a row written ${f((r.idle.firstRowAtMs - r.idle.serverStartMs) / 1000, 0)} s after its server started, then nothing), one trickling (a row every ${r.trickle.writeEverySeconds} s):`,
    "",
    "| | idle | trickling |",
    "|---|---:|---:|",
    `| minutes | ${f(idle.minutes)} | ${f(trickle.minutes)} |`,
    `| WAL position advanced (a switch skips the rest of its segment), MiB | ${f(idle.walBytes / MiB)} | ${f(trickle.walBytes / MiB)} |`,
    `| segments archived | ${idle.segments} | ${trickle.segments} (${f(trickle.segments / trickle.minutes, 2)} a minute) |`,
    `| the first, after the first row (archive_timeout ${r.archiveTimeoutSeconds} s) | ${firstAfter(r.idle, r.idle.firstRowAtMs)} | ${firstAfter(r.trickle, r.trickle.firstRowAtMs)} |`,
    `| the first, after the server's start (checkpoint_timeout ${r.idle.checkpointTimeoutS} s) | ${firstAfter(r.idle, r.idle.serverStartMs)} | ${firstAfter(r.trickle, r.trickle.serverStartMs)} |`,
    `| spool growth, MiB | ${f(idle.spoolBytes / MiB)} | ${f(trickle.spoolBytes / MiB)} (${f(trickle.spoolBytes / MiB / trickle.minutes)} a minute) |`,
    `| repository growth, KiB | ${f(idle.repoBytes / 1024)} | ${f(trickle.repoBytes / 1024)} |`,
    `| repository growth per segment, KiB | ${f(idle.repoBytes / 1024 / idle.segments)} | ${f(trickle.repoBytes / 1024 / trickle.segments)} |`,
    r.spoolBucketMiB !== undefined
      ? `| a spool folder of ${r.spoolBucketMiB} MiB fills at this rate in, min | — | ${f(r.spoolBucketMiB / (trickle.spoolBytes / MiB / trickle.minutes), 0)} |`
      : `| the spool by the end of a UTC day at this rate, GiB | — | ${f(((trickle.spoolBytes / trickle.minutes) * 1440) / (1 << 30))} |`,
    `| \`wal.sh ship\` CPU per ship (one a minute), s | ${f(idle.shipCpuS / idle.ships, 3)} | ${f(trickle.shipCpuS / trickle.ships, 3)} |`,
    `| … a ship with nothing to ship / one that ran restic, s | ${shipKinds(r.idle.span)} | ${shipKinds(r.trickle.span)} |`,
    `| \`wal.sh ship\` wall time, mean, s | ${f(idle.shipWallMeanS, 2)} | ${f(trickle.shipWallMeanS, 2)} |`,
    `| db container CPU, s per minute | ${f(idle.containerCpuS / idle.minutes, 3)} | ${f(trickle.containerCpuS / trickle.minutes, 3)} |`,
  ].join("\n");
}
