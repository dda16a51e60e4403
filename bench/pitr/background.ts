import type { Reading, Span } from "./results";
import type { PitrRig } from "./rig";

/**
 * A project with archiving that carries none of the load while the windows run on the others: idle (one row
 * right after its server started, then nothing) or trickling (one small write every `writeEveryMs`, as an app's
 * heartbeat, a job queue or a session refresh would write). Its ship timer ticks through every window, and it
 * is read at every progress line. The caller's loop calls tick().
 */
export class Background {
  readonly samples: Reading[] = [];
  writes = 0;
  /** When the first row was written (ms since the epoch). */
  firstRowAtMs = 0;
  private start: Reading | undefined;
  private shipsBefore = 0;
  private nextWrite = Infinity;

  constructor(
    readonly rig: PitrRig,
    private readonly since: number,
    readonly writeEveryMs?: number,
  ) {}

  /** The baseline, the first row, and the ship timer. Call after the rig's flush(). */
  begin(): void {
    this.shipsBefore = this.rig.timer!.runs.length;
    this.start = this.rig.read(this.since);
    this.rig.one("create table public.bench_rows (id bigserial primary key, at timestamptz not null default now())");
    this.write();
    this.firstRowAtMs = Date.now();
    if (this.writeEveryMs !== undefined) this.nextWrite = Date.now() + this.writeEveryMs;
    this.rig.timer!.start();
  }

  private write(): void {
    this.rig.one("insert into public.bench_rows default values");
    this.writes++;
  }

  tick(now = Date.now()): void {
    this.rig.timer!.tick(now);
    if (now >= this.nextWrite) {
      this.nextWrite += this.writeEveryMs!;
      this.write();
    }
  }

  sample(): void {
    this.samples.push(this.rig.read(this.since));
  }

  /** Stops writing and shipping, ships what the archiver finished, and returns the span. */
  async end(): Promise<Span> {
    this.nextWrite = Infinity;
    await this.rig.timer!.stop();
    await this.rig.archiverDone();
    await this.rig.timer!.ship();
    const ships = this.rig.timer!.runs.slice(this.shipsBefore);
    const failed = ships.find((s) => s.status !== 0);
    if (failed) throw new Error(`a ship of ${this.rig.name} failed: ${failed.stderr}`);
    return { project: this.rig.name, archiving: true, start: this.start!, end: this.rig.read(this.since), samples: this.samples, ships };
  }
}
