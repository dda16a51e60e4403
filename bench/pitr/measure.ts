import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { LabDb } from "../../tests/helpers/labDb";
import { docker } from "../../tests/lab/engine";

/** Kernel clock ticks per second, the unit of /proc/<pid>/stat's CPU times. */
const TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** `du -sb` of the paths that exist, together: bytes on disk as a listing counts them. */
export function du(...paths: readonly string[]): number {
  const there = paths.filter((p) => existsSync(p));
  if (there.length === 0) return 0;
  const out = execFileSync("du", ["-sbc", ...there], { encoding: "utf8" });
  return Number(/^(\d+)\s+total$/m.exec(out)?.[1] ?? NaN);
}

/** An LSN ("16/B374D848") as a byte position in the WAL. */
export const lsnBytes = (lsn: string): number => {
  const [hi, lo] = lsn.split("/");
  return parseInt(hi!, 16) * 2 ** 32 + parseInt(lo!, 16);
};

/** What the server says about its WAL: where it writes, what the archiver did, and what pg_wal holds. */
export interface WalState {
  readonly lsn: number;
  readonly archived: number;
  readonly failed: number;
  readonly pgWalBytes: number;
}

export function walState(db: LabDb): WalState {
  const row = db
    .psql(
      "\\pset tuples_only on\n\\pset format unaligned\n\\pset fieldsep ' '\n" +
        "select pg_current_wal_lsn(), archived_count, failed_count, (select coalesce(sum(size), 0) from pg_ls_waldir()) from pg_stat_archiver;",
    )
    .trim()
    .split(" ");
  return { lsn: lsnBytes(row[0]!), archived: Number(row[1]), failed: Number(row[2]), pgWalBytes: Number(row[3]) };
}

/** User and system CPU seconds of a process: its own, and with `children`, those of the children it waited for. */
function processCpu(pid: number, children: boolean): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14-17 of proc(5): utime, stime, cutime, cstime (the line here starts at field 3).
  const ticks = Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0);
  return ticks / TICKS;
}

/** The lines of /proc/<pid>/cgroup of a container's first process. */
function cgroupLines(container: string): string[] {
  const pid = Number(docker(["inspect", "-f", "{{.State.Pid}}", container]).stdout.trim());
  return readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n");
}

/**
 * The most memory a container's cgroup has held (cgroup v1 max_usage, or v2 memory.peak). The lab's database keeps
 * its data directory, pg_wal included, on tmpfs (composeDb), and those pages count against the db's limit here.
 */
export function containerMemoryPeak(container: string): number {
  const lines = cgroupLines(container);
  const v1 = lines.find((l) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l));
  if (v1) return Number(readFileSync(join("/sys/fs/cgroup/memory", v1.split(":")[2]!, "memory.max_usage_in_bytes"), "utf8").trim());
  const v2 = lines.find((l) => l.startsWith("0::"));
  const root = existsSync("/sys/fs/cgroup/unified/cgroup.controllers") ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup";
  const peak = v2 === undefined ? "" : join(root, v2.slice(3), "memory.peak");
  return existsSync(peak) ? Number(readFileSync(peak, "utf8").trim()) : NaN;
}

/** The CPU seconds a container's cgroup has used (cgroup v1 cpuacct, or v2 cpu.stat). */
export function containerCpu(container: string): number {
  const lines = cgroupLines(container);
  const v1 = lines.find((l) => /^\d+:([^:]*,)?cpuacct(,[^:]*)?:/.test(l));
  if (v1) return Number(readFileSync(join("/sys/fs/cgroup/cpuacct", v1.split(":")[2]!, "cpuacct.usage"), "utf8").trim()) / 1e9;
  const v2 = lines.find((l) => l.startsWith("0::"));
  if (!v2) throw new Error(`no CPU cgroup for ${container}`);
  const root = existsSync("/sys/fs/cgroup/unified/cgroup.controllers") ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup";
  const stat = readFileSync(join(root, v2.slice(3), "cpu.stat"), "utf8");
  return Number(/^usage_usec (\d+)$/m.exec(stat)?.[1] ?? NaN) / 1e6;
}

/**
 * PostgreSQL's archiver: its own CPU and that of every archive_command it ran and waited for (the shell,
 * bash wal-archive.sh, dd with its fsync, mv, sync). Undefined when the server runs no archiver.
 */
export function archiverCpu(db: LabDb): number | undefined {
  const found = db.processes(/^postgres: archiver/);
  if (found.length > 1) throw new Error(`${db.name} runs ${found.length} archivers`);
  return found.length === 0 ? undefined : processCpu(found[0]!.pid, true);
}

/** A byte position in the WAL as PostgreSQL writes an LSN. */
export const lsnText = (n: number): string => `${Math.floor(n / 2 ** 32).toString(16).toUpperCase()}/${(n % 2 ** 32).toString(16).toUpperCase()}`;

/** pg_waldump's statistics, by record type, of what the server wrote between two positions: what wrote WAL on an idle database. */
export function walRecords(db: LabDb, from: number, to: number): string {
  if (to <= from) return "";
  const r = docker(
    ["exec", "-u", "postgres", db.name, "/usr/lib/postgresql/15/bin/pg_waldump", "--stats=record", "-p", "/var/lib/postgresql/data/pg_wal", "-s", lsnText(from), "-e", lsnText(to)],
    { allowFail: true },
  );
  return (r.stdout + r.stderr).trim();
}

/** When each WAL segment under `days` (days/<cluster>/<day>/) was archived: wal-archive.sh writes it, and wal.sh moves it, keeping its time. */
export function archivedTimes(days: string): number[] {
  if (!existsSync(days)) return [];
  return readdirSync(days, { recursive: true, encoding: "utf8" })
    .filter((f) => /(^|\/)[0-9A-F]{24}$/.test(f))
    .map((f) => statSync(join(days, f)).mtimeMs)
    .sort((a, b) => a - b);
}
