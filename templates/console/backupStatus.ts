/**
 * A project's backups as the console shows them, from what its worker's
 * `backup.sh <config> status` printed (relayed by the agent's `status`):
 * { project, snapshots: { <kind>: { id, at, size, labels } }, lastRun, copy,
 *   drill: { at, ok, rpoMinutes, rtoSeconds, message }, wal: wal.sh's status }.
 */
export interface Outcome {
  readonly at: string;
  readonly ok: boolean;
  readonly message: string;
}

export interface BackupView {
  readonly enabled: boolean;
  readonly pitr: boolean;
  /** The newest database snapshot. */
  readonly lastSnapshot?: { readonly at: string; readonly ageSeconds: number; readonly sizeBytes?: number; readonly labels: readonly string[] };
  /** The last nightly run and the second copy's last update. */
  readonly lastRun?: Outcome;
  readonly copy?: Outcome;
  readonly lastDrill?: Outcome & { readonly rpoSeconds?: number; readonly rtoSeconds?: number };
  /** Age of the newest shipped WAL segment, when point-in-time recovery is on. */
  readonly walArchiveAgeSeconds?: number;
  readonly walProblems?: readonly string[];
  /** Why nothing is known (the agent did not answer, or has not been asked yet). */
  readonly unknown?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const iso = (unixS: number): string => new Date(unixS * 1000).toISOString();

function outcome(v: unknown): Outcome | undefined {
  if (!isObject(v) || num(v.at) === undefined) return undefined;
  return { at: iso(num(v.at)!), ok: v.ok === true, message: typeof v.message === "string" ? v.message : "" };
}

/** `status` read at `readAt` (unix ms), shown at `now`: ages count on from the reading. */
export function backupView(status: unknown, enabled: boolean, pitr: boolean, readAt: number, now: number): BackupView {
  const base = { enabled, pitr };
  if (!enabled) return base;
  if (!isObject(status)) return { ...base, unknown: "no backup status from the worker yet" };
  const snapshots = isObject(status.snapshots) ? status.snapshots : {};
  const db = isObject(snapshots.database) ? snapshots.database : undefined;
  const dbAt = num(db?.at);
  const size = num(db?.size);
  const lastRun = outcome(status.lastRun);
  const copy = outcome(status.copy);
  const drill = outcome(status.drill);
  const drillFigures = isObject(status.drill) ? status.drill : {};
  const rpoMinutes = num(drillFigures.rpoMinutes);
  const rto = num(drillFigures.rtoSeconds);
  const wal = isObject(status.wal) ? status.wal : undefined;
  const walAge = num(wal?.lastShippedAgeSeconds);
  const walProblems = Array.isArray(wal?.problems) ? wal.problems.filter((p): p is string => typeof p === "string") : [];
  return {
    ...base,
    ...(dbAt !== undefined
      ? {
          lastSnapshot: {
            at: iso(dbAt),
            ageSeconds: Math.max(0, Math.round(now / 1000 - dbAt)),
            ...(size !== undefined ? { sizeBytes: size } : {}),
            labels: Array.isArray(db?.labels) ? db.labels.filter((l): l is string => typeof l === "string") : [],
          },
        }
      : {}),
    ...(lastRun !== undefined ? { lastRun } : {}),
    ...(copy !== undefined ? { copy } : {}),
    ...(drill !== undefined ? { lastDrill: { ...drill, ...(rpoMinutes !== undefined ? { rpoSeconds: rpoMinutes * 60 } : {}), ...(rto !== undefined ? { rtoSeconds: rto } : {}) } } : {}),
    ...(pitr && walAge !== undefined ? { walArchiveAgeSeconds: walAge + Math.max(0, Math.round((now - readAt) / 1000)) } : {}),
    ...(pitr && walProblems.length > 0 ? { walProblems } : {}),
  };
}
