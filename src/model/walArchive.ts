/** The fleet's `backups.pitr` as the stack file gives it (PitrSchema in src/config/schema.ts, a layer above). */
export interface PitrSettings {
  readonly enabled: boolean;
  readonly archiveTimeoutSeconds: number;
  readonly alertAfterMinutes: number;
  readonly pgWalLimitMiB: number;
}

/** How a project archives its WAL between nightly backups: what a point-in-time restore replays. */
export interface WalArchive {
  /** PostgreSQL's archive_timeout: the longest a quiet database keeps a segment open. */
  readonly archiveTimeoutSeconds: number;
  /** How long archiving may fail before the alerts say so. */
  readonly alertAfterSeconds: number;
  /** pg_wal larger than this alerts. */
  readonly pgWalLimitMiB: number;
}

/**
 * The project's WAL archiving, or undefined when it has none. The project's own `pitr` wins over the
 * fleet's `enabled` either way: a project can leave archiving out, or take it where the fleet does not.
 * `backups` is the fleet's FleetConfig["backups"]; only its `pitr` is read.
 */
export function walArchiveOf(backups: { readonly pitr: PitrSettings }, project: { readonly pitr?: boolean | undefined }): WalArchive | undefined {
  const p = backups.pitr;
  if (!(project.pitr ?? p.enabled)) return undefined;
  return { archiveTimeoutSeconds: p.archiveTimeoutSeconds, alertAfterSeconds: p.alertAfterMinutes * 60, pgWalLimitMiB: p.pgWalLimitMiB };
}
