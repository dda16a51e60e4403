import { dockerAsync, type LabDb } from "../../tests/helpers/labDb";
import { docker } from "../../tests/lab/engine";

/** pgbench of the database image, run inside the db container against loopback (trusted there, as upstream's pg_hba has it). */
const PGBENCH = "/usr/lib/postgresql/15/bin/pgbench";
/** Where pgbench writes its per-transaction log inside the container (one file per thread). */
const LOG_PREFIX = "/tmp/pitr-log";

/**
 * The steady write load, at a fixed rate: pgbench's TPC-B-like transaction (an account, a teller and a branch
 * updated, the account read) whose history row is an application's event row instead: the same ids and amount
 * with a 256-character payload of hex digests. pgbench's own rows are mostly blank padding, which compresses
 * many times over and would flatter restic; hex digests compress to about half, as much real data does
 * (bench:backup's rows are hex digests too), so initLoad gives the accounts hex padding as well.
 */
export const SCRIPT = `\\set aid random(1, 100000 * :scale)
\\set bid random(1, 1 * :scale)
\\set tid random(1, 10 * :scale)
\\set delta random(-5000, 5000)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;
INSERT INTO bench_events (aid, tid, bid, delta, payload) VALUES (:aid, :tid, :bid, :delta, (SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 8)));
END;
`;
const SCRIPT_FILE = "/tmp/pitr-load.sql";

export interface Load {
  /** Transactions per second, scheduled by pgbench (-R): both databases get the same work. */
  readonly rate: number;
  readonly clients: number;
  readonly threads: number;
  /** The length of one window of load. */
  readonly seconds: number;
  /** pgbench's scale: 100,000 accounts (about 15 MiB of table) per unit. */
  readonly scale: number;
}

export interface Latency {
  readonly count: number;
  readonly averageMs: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface LoadResult {
  /** pgbench's own summary. */
  readonly transactions: number;
  readonly tps: number;
  readonly pgbenchAverageMs: number;
  readonly scheduleLagMs: number;
  /** From the per-transaction log: each latency from its scheduled start (so it includes waiting for a client). */
  readonly latency: Latency;
}

function pgbench(container: string, args: readonly string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return dockerAsync(["exec", container, PGBENCH, "-h", "127.0.0.1", "-U", "supabase_admin", ...args, "postgres"]);
}

/**
 * pgbench's tables at `scale`, each account's blank padding (filler) made 84 hex digits, then vacuumed with
 * their primary keys; the events table; the script. The accounts' pages go into the WAL whole after every
 * checkpoint: blank, they would compress many times over.
 */
export async function initLoad(db: LabDb, scale: number): Promise<void> {
  const tables = await pgbench(db.name, ["-i", "-q", "-I", "dt", "-s", String(scale)]);
  if (tables.status !== 0) throw new Error(`pgbench -i in ${db.name} failed: ${tables.stderr}`);
  db.psql(`insert into pgbench_branches (bid, bbalance) select b, 0 from generate_series(1, ${scale}) b;
    insert into pgbench_tellers (tid, bid, tbalance) select t, (t - 1) / 10 + 1, 0 from generate_series(1, ${10 * scale}) t;
    insert into pgbench_accounts (aid, bid, abalance, filler)
      select a, (a - 1) / 100000 + 1, 0, left(md5(a::text) || md5((-a)::text) || md5((7 * a)::text), 84) from generate_series(1, ${100_000 * scale}) a;
    create table public.bench_events (id bigserial primary key, aid int not null, tid int not null, bid int not null, delta int not null, payload text not null, at timestamptz not null default now());`);
  const keys = await pgbench(db.name, ["-i", "-q", "-I", "vp"]);
  if (keys.status !== 0) throw new Error(`pgbench -i -I vp in ${db.name} failed: ${keys.stderr}`);
  docker(["exec", "-i", db.name, "sh", "-c", `cat > ${SCRIPT_FILE}`], { input: SCRIPT });
}

/** Nearest-rank percentiles of a sample, in milliseconds from microseconds. */
export function latencyOf(micros: readonly number[]): Latency {
  if (micros.length === 0) throw new Error("no transactions in pgbench's log");
  const s = [...micros].sort((a, b) => a - b);
  const at = (p: number): number => s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! / 1000;
  return { count: s.length, averageMs: s.reduce((a, b) => a + b, 0) / s.length / 1000, p50Ms: at(50), p95Ms: at(95), p99Ms: at(99), maxMs: s.at(-1)! / 1000 };
}

const figure = (text: string, re: RegExp): number => {
  const m = re.exec(text);
  if (!m) throw new Error(`pgbench's summary has no ${re.source}:\n${text}`);
  return Number(m[1]);
};

/** Runs the load to its end (pgbench prints nothing while it runs: no --progress); `micros` are the latencies, to pool. */
export async function runLoad(container: string, load: Load): Promise<{ result: LoadResult; micros: number[] }> {
  await dockerAsync(["exec", container, "sh", "-c", `rm -f ${LOG_PREFIX}.*`]);
  const r = await pgbench(container, [
    "-n", "-f", SCRIPT_FILE, "-s", String(load.scale), "-c", String(load.clients), "-j", String(load.threads), "-R", String(load.rate), "-T", String(load.seconds), "-l", `--log-prefix=${LOG_PREFIX}`,
  ]);
  if (r.status !== 0) throw new Error(`pgbench in ${container} failed (${r.status}): ${r.stderr}`);
  const log = await dockerAsync(["exec", container, "sh", "-c", `cat ${LOG_PREFIX}.*`]);
  if (log.status !== 0) throw new Error(`reading pgbench's log in ${container} failed: ${log.stderr}`);
  // client_id transaction_no time script_no time_epoch time_us schedule_lag: `time` is the latency in µs.
  const micros = log.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => Number(l.split(" ")[2]));
  if (micros.some((x) => !Number.isFinite(x))) throw new Error(`pgbench's log in ${container} has a line this bench cannot read`);
  const result = {
    transactions: figure(r.stdout, /number of transactions actually processed: (\d+)/),
    tps: figure(r.stdout, /tps = ([\d.]+)/),
    pgbenchAverageMs: figure(r.stdout, /latency average = ([\d.]+) ms/),
    scheduleLagMs: figure(r.stdout, /schedule lag: avg ([\d.]+)/),
    latency: latencyOf(micros),
  };
  return { result, micros };
}
