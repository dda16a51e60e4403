import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

const WAL_SH = join(__dirname, "..", "..", "templates/worker/wal.sh");

/** One `wal.sh ship`: how long it took, and the CPU of the whole process tree it waited for (bash, restic, curl, docker's client). */
export interface ShipRun {
  readonly wallS: number;
  readonly userS: number;
  readonly sysS: number;
  readonly status: number;
  readonly stderr: string;
}

/**
 * `wal.sh <settings> ship` every minute, as the supafleet-wal@ timer runs it (Nice=5), under
 * /usr/bin/time. A ship that comes due while the last one still runs is skipped, as wal.sh's own
 * flock -n would skip it. The caller's loop calls tick(); nothing runs on its own.
 */
export class ShipTimer {
  readonly runs: ShipRun[] = [];
  private next: number | undefined;
  private running: Promise<ShipRun> | undefined;
  private child: ChildProcess | undefined;

  constructor(
    private readonly settings: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly everyMs = 60_000,
  ) {}

  /** The first ship comes due one interval from now. */
  start(now = Date.now()): void {
    this.next = now + this.everyMs;
  }

  /** Starts a ship if one is due, unless one runs or `now` is past `until` (the caller ships last itself). */
  tick(now = Date.now(), until = Infinity): void {
    if (this.next === undefined || now < this.next) return;
    this.next += this.everyMs;
    if (this.running === undefined && now < until) void this.ship();
  }

  /** No more ships come due; waits for the one that runs. */
  async stop(): Promise<void> {
    this.next = undefined;
    await this.running;
  }

  /** One ship now (after the running one, if any), recorded with the others. */
  async ship(): Promise<ShipRun> {
    await this.running;
    this.running = this.once().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Kills a ship that still runs (the bench is being torn down). */
  kill(): void {
    if (this.child?.pid !== undefined && this.child.exitCode === null) {
      try {
        process.kill(-this.child.pid, "SIGKILL");
      } catch {
        // Gone already.
      }
    }
  }

  private once(): Promise<ShipRun> {
    const timeFile = `${this.settings}.time`;
    return new Promise((resolve, reject) => {
      const child = spawn("/usr/bin/time", ["-f", "%e %U %S", "-o", timeFile, "nice", "-n", "5", "bash", WAL_SH, this.settings, "ship"], {
        env: this.env,
        stdio: ["ignore", "ignore", "pipe"],
        detached: true,
      });
      this.child = child;
      let stderr = "";
      child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      child.on("error", reject);
      child.on("close", (code) => {
        try {
          const [wallS, userS, sysS] = readFileSync(timeFile, "utf8").trim().split("\n").at(-1)!.split(" ").map(Number);
          rmSync(timeFile, { force: true });
          const run = { wallS: wallS!, userS: userS!, sysS: sysS!, status: code ?? -1, stderr: stderr.trim() };
          this.runs.push(run);
          resolve(run);
        } catch (e) {
          reject(new Error(`wal.sh ship (${code}) left no timing: ${(e as Error).message}; ${stderr}`));
        }
      });
    });
  }

  /** Totals of the ships so far. */
  totals(): { ships: number; cpuS: number; userS: number; sysS: number; wallS: number; maxWallS: number; failed: number } {
    const sum = (f: (r: ShipRun) => number): number => this.runs.reduce((a, r) => a + f(r), 0);
    return {
      ships: this.runs.length,
      cpuS: sum((r) => r.userS + r.sysS),
      userS: sum((r) => r.userS),
      sysS: sum((r) => r.sysS),
      wallS: sum((r) => r.wallS),
      maxWallS: Math.max(0, ...this.runs.map((r) => r.wallS)),
      failed: this.runs.filter((r) => r.status !== 0).length,
    };
  }
}
