/**
 * A project's backups as the console shows them, read from what its worker's
 * `backup.sh <config> status` printed (relayed by the agent's `status`).
 */
export interface BackupView {
  readonly enabled: boolean;
  readonly pitr: boolean;
  readonly lastSnapshot?: { readonly at: string; readonly ageSeconds: number; readonly sizeBytes?: number };
  readonly lastDrill?: { readonly at: string; readonly ok: boolean; readonly rpoSeconds?: number; readonly rtoSeconds?: number };
  /** Age of the newest archived WAL segment, when point-in-time recovery is on. */
  readonly walArchiveAgeSeconds?: number;
  /** Why nothing is known (the agent did not answer, or the worker has no status yet). */
  readonly unknown?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
/** A time as unix seconds or an ISO string, as ms; undefined when it is neither. */
function time(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v)) return v * 1000;
  if (typeof v === "string" && v !== "") {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}
const age = (t: number, now: number): number => Math.max(0, Math.round((now - t) / 1000));

export function backupView(status: unknown, enabled: boolean, pitr: boolean, now: number): BackupView {
  const base = { enabled, pitr };
  if (!enabled) return base;
  if (!isObject(status)) return { ...base, unknown: "no backup status from the worker yet" };
  const snap = isObject(status.lastSnapshot) ? status.lastSnapshot : undefined;
  const snapAt = time(snap?.time);
  const drill = isObject(status.lastDrill) ? status.lastDrill : undefined;
  const drillAt = time(drill?.time ?? drill?.at);
  const wal = isObject(status.walArchive) ? status.walArchive : undefined;
  const walAt = time(wal?.lastArchivedAt ?? wal?.time);
  const size = num(snap?.sizeBytes);
  const rpo = num(drill?.rpoSeconds);
  const rto = num(drill?.rtoSeconds);
  return {
    ...base,
    ...(snapAt !== undefined ? { lastSnapshot: { at: new Date(snapAt).toISOString(), ageSeconds: age(snapAt, now), ...(size !== undefined ? { sizeBytes: size } : {}) } } : {}),
    ...(drillAt !== undefined
      ? { lastDrill: { at: new Date(drillAt).toISOString(), ok: drill?.ok === true, ...(rpo !== undefined ? { rpoSeconds: rpo } : {}), ...(rto !== undefined ? { rtoSeconds: rto } : {}) } }
      : {}),
    ...(pitr && walAt !== undefined ? { walArchiveAgeSeconds: age(walAt, now) } : {}),
  };
}
