import type { Latency, Load, LoadResult } from "./load";
import type { ShipRun } from "./ship";

/** One reading of a project: its WAL, CPU and, with archiving, its spool and repository. Bytes and CPU seconds. */
export interface Reading {
  /** Milliseconds since the bench started. */
  readonly atMs: number;
  readonly lsn: number;
  readonly archived: number;
  readonly failed: number;
  readonly pgWalBytes: number;
  /** The db container's cgroup. */
  readonly containerCpuS: number;
  /** The archiver and the archive_commands it waited for; undefined without archiving. */
  readonly archiverCpuS: number | undefined;
  readonly spoolIncomingBytes: number;
  readonly spoolDaysBytes: number;
  readonly repoBytes: number;
  /** restic's cache for the repository (RESTIC_CACHE_DIR), also on the worker's disk. */
  readonly cacheBytes: number;
  /** The db container's peak memory so far, tmpfs data directory included (its limit is the compose file's). */
  readonly memoryPeakBytes: number;
}

/** A project over a window: the readings at its ends (and between), and the ships run in it. */
export interface Span {
  readonly project: string;
  readonly archiving: boolean;
  readonly start: Reading;
  readonly end: Reading;
  readonly samples: readonly Reading[];
  readonly ships: readonly ShipRun[];
}

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly kernel: string;
  /** Where the spool and the repositories were (the bench's temporary folder), and the databases' data (tmpfs). */
  readonly spoolDisk: string;
  readonly dataDisk: string;
  readonly docker: string;
  readonly cgroup: string;
  readonly restic: string;
  readonly postgres: string;
  /** The machine's 1-minute load average when the bench started and when it ended: other work on it shows here. */
  readonly loadAverage: readonly [number, number];
}

/** One window of load on one database: pgbench's figures and the project's readings. */
export interface LoadWindow {
  readonly round: number;
  readonly span: Span;
  readonly result: LoadResult;
}

/** One database's windows, and the latency of all their transactions together. */
export interface Side {
  readonly windows: readonly LoadWindow[];
  readonly latency: Latency;
}

export interface Results {
  readonly date: string;
  /** The commit measured, and which of the scripts measured differed from it (another engineer's work in progress). */
  readonly commit: { readonly head: string; readonly modified: readonly string[] };
  readonly machine: Machine;
  /** One window's load; each database gets `rounds` of them, in turns (a, b, a, b …). */
  readonly load: Load;
  readonly rounds: number;
  readonly archiveTimeoutSeconds: number;
  readonly shipEverySeconds: number;
  /** wal.sh's default WAL_BUCKET_MIB: the spool folds a folder of shipped segments once it holds this much; undefined when wal.sh keeps a whole day. */
  readonly spoolBucketMiB: number | undefined;
  readonly totalSeconds: number;
  /** (a): the load on a database without archiving. */
  readonly plain: Side;
  /** (b): the same load on a database with archiving, and wal.sh ship every minute. */
  readonly archiving: Side;
  /** A database with archiving and no writes after its first row, through all the windows. */
  readonly idle: BackgroundResult;
  /** A database with archiving and one small write every 30 s, through all the windows. */
  readonly trickle: BackgroundResult;
}

/**
 * A project with archiving and none of the load (background.ts): its first row written right after its server
 * started, then nothing (idle) or one row every `writeEverySeconds` (trickle), and when each segment reached the
 * spool after that first row (its file's time there). Times in milliseconds since the epoch.
 */
export interface BackgroundResult {
  readonly span: Span;
  readonly writeEverySeconds: number | undefined;
  readonly writes: number;
  /** pg_waldump's statistics, by record type, of what the server wrote over the span (its error instead, once a checkpoint recycled the first segment). */
  readonly walRecords: string;
  readonly serverStartMs: number;
  readonly firstRowAtMs: number;
  readonly archivedAtMs: readonly number[];
  readonly checkpointTimeoutS: number;
}
