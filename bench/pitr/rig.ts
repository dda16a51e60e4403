import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderBackupEnv } from "../../src/backup/settings";
import { volumeName } from "../../src/supabase/naming";
import { waitFor } from "../../tests/helpers/backupRig";
import { composeDb, composeDown, volumePath, type LabDb } from "../../tests/helpers/labDb";
import { dockerEnv } from "../../tests/lab/engine";
import { LabProject } from "../../tests/lab/project";
import { archiverCpu, containerCpu, containerMemoryPeak, du, walState } from "./measure";
import type { Reading } from "./results";
import { ShipTimer } from "./ship";

/**
 * One project's database as its worker runs it: the db service of the compose file the program renders
 * (tests/helpers/labDb.ts composeDb), with WAL archiving on or off. With archiving, also what the worker
 * adds: the spool (on this machine's disk, under the project's folder), a restic repository of its own
 * made by the real `restic init` (a calibrated key, as backup-enable makes it, so every restic run pays
 * its key derivation as on a worker), the backup settings wal.sh reads, and the ship timer.
 */
export class PitrRig {
  readonly project: LabProject;
  readonly repo: string;
  /** restic's cache (RESTIC_CACHE_DIR), on the worker's disk too. */
  readonly cache: string;
  private readonly settingsFile: string;
  readonly timer: ShipTimer | undefined;
  private db_: LabDb | undefined;

  constructor(
    name: string,
    octet: number,
    readonly archiving: boolean,
    private readonly work: string,
    private readonly pushUrl: (path: string) => string,
    archiveTimeoutSeconds = 60,
  ) {
    this.project = new LabProject(name, octet);
    if (archiving) this.project.walArchive = { archiveTimeoutSeconds };
    this.repo = join(work, `${name}-repo`);
    this.cache = join(work, `${name}-cache`);
    this.settingsFile = join(work, `${name}.env`);
    this.timer = archiving ? new ShipTimer(this.settingsFile, this.env()) : undefined;
  }

  get name(): string {
    return this.project.name;
  }

  get db(): LabDb {
    if (this.db_ === undefined) throw new Error(`${this.name} has not started`);
    return this.db_;
  }

  get container(): string {
    return this.project.container("db");
  }

  /** <spool>/incoming (waiting to be shipped) and <spool>/days (shipped, kept until the day is folded). */
  get spool(): { incoming: string; days: string } {
    const root = join(this.project.walRoot, this.name);
    return { incoming: join(root, "incoming"), days: join(root, "days") };
  }

  /** The environment the scripts get on the lab: its engine, and the locks and restic cache in the bench's folder. */
  env(): NodeJS.ProcessEnv {
    return dockerEnv({ ...process.env, SUPAFLEET_LOCK_DIR: this.work, SUPAFLEET_SPOOL: join(this.work, "spool"), RESTIC_CACHE_DIR: this.cache, TZ: "UTC" });
  }

  async start(): Promise<void> {
    this.db_ = await composeDb(await this.project.start());
    if (!this.archiving) return;
    const init = spawnSync("restic", ["init", "-r", this.repo], { encoding: "utf8", env: { ...this.env(), RESTIC_PASSWORD: this.password } });
    if (init.status !== 0) throw new Error(`restic init for ${this.name} failed: ${init.stderr}`);
    mkdirSync(this.cache, { recursive: true });
    writeFileSync(
      this.settingsFile,
      renderBackupEnv({
        name: this.name,
        repository: this.repo,
        resticPassword: this.password,
        dbContainer: this.container,
        paths: [volumePath(volumeName(this.name, "db-config"))],
        retention: { daily: 7, weekly: 4, monthly: 6 },
        wal: { spool: join(this.project.walRoot, this.name), alertAfterSeconds: 180, pgWalLimitMiB: 1024, kumaPushUrl: this.pushUrl(`/kuma/push/${this.name}`) },
        ntfyUrl: this.pushUrl(`/ntfy/${this.name}`),
      }),
      { mode: 0o600 },
    );
    const prepared = spawnSync("bash", [join(__dirname, "..", "..", "templates/worker/wal.sh"), this.settingsFile, "prepare"], { encoding: "utf8", env: this.env() });
    if (prepared.status !== 0) throw new Error(`wal.sh prepare for ${this.name} failed: ${prepared.stderr}`);
  }

  /** One SQL query's single value, as text. */
  one(query: string): string {
    return this.db.psql(`\\pset tuples_only on\n\\pset format unaligned\n${query}`).trim();
  }

  /** Its WAL, CPU, memory and, with archiving, spool and repository now; `atMs` from `since`. */
  read(since: number): Reading {
    const w = walState(this.db);
    return {
      atMs: Date.now() - since,
      lsn: w.lsn,
      archived: w.archived,
      failed: w.failed,
      pgWalBytes: w.pgWalBytes,
      containerCpuS: containerCpu(this.container),
      archiverCpuS: this.archiving ? archiverCpu(this.db) : undefined,
      spoolIncomingBytes: this.archiving ? du(this.spool.incoming) : 0,
      spoolDaysBytes: this.archiving ? du(this.spool.days) : 0,
      repoBytes: this.archiving ? du(this.repo) : 0,
      cacheBytes: this.archiving ? du(this.cache) : 0,
      memoryPeakBytes: containerMemoryPeak(this.container),
    };
  }

  /** Until the archiver has nothing left to do: no segment in pg_wal/archive_status waits as .ready. */
  async archiverDone(): Promise<void> {
    const ready = (): number => Number(this.one("select count(*) from pg_ls_archive_statusdir() where name like '%.ready'"));
    await waitFor(`${this.name}'s archiver to catch up`, () => (ready() === 0 ? true : undefined), 120_000, 500);
  }

  /** Everything written so far archived and shipped: what follows starts from an empty incoming/ and an idle archiver. */
  async flush(): Promise<void> {
    this.db.psql("select pg_switch_wal();");
    if (!this.timer) return;
    await this.archiverDone();
    const s = await this.timer.ship();
    if (s.status !== 0) throw new Error(`wal.sh ship for ${this.name} failed: ${s.stderr}`);
  }

  /** Its containers, volumes, network, address and folders go; safe to call more than once, and before start. */
  stop(): void {
    this.timer?.kill();
    composeDown(this.project);
    this.project.stop();
    rmSync(this.repo, { recursive: true, force: true });
    rmSync(this.cache, { recursive: true, force: true });
    rmSync(this.settingsFile, { force: true });
  }

  private get password(): string {
    return `bench:pitr ${this.name}`;
  }
}
