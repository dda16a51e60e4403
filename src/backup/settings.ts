import type { RandomPasswordArgs } from "@pulumi/random";
import type { RetentionConfig } from "../config/schema";
import { shellQuote } from "../render/script";
import { PASSWORD_ROLES } from "../supabase/dbPassword";

/** Hetzner's rules for Storage Box and sub-account passwords, with characters that need no quoting anywhere. */
export const STORAGE_BOX_PASSWORD: RandomPasswordArgs = { length: 40, special: true, overrideSpecial: "-_.+", minSpecial: 2, minUpper: 2, minLower: 2, minNumeric: 2 };

/** One backup job's settings, as backup.sh, restore.sh and drill.sh read them. */
export interface BackupSettings {
  readonly name: string;
  readonly repository: string;
  readonly resticPassword: string;
  /** The password before the latest rotation (rotate.restic), which the enable step retires. */
  readonly resticPreviousPassword?: string;
  readonly sftpPassword?: string;
  /** The restic key of the job's read-only credential; backup-enable adds it to the repository. */
  readonly readerKey?: string;
  /** Reads through the read-only credential: no locks, nothing written (a seed or another stack's drill). */
  readonly readOnly?: boolean;
  /** Whose snapshots to take, when not this job's own (seeding one project from another's backup). */
  readonly snapshotHost?: string;
  /** The drill restores into a throwaway container of this image, not the project's own database. */
  readonly drillImage?: string;
  /** Where the files were backed up from, when that differs from `paths` (another project's backup). */
  readonly sourcePaths?: readonly string[];
  /** The project's database container; absent for the master, which has only files. */
  readonly dbContainer?: string;
  readonly paths: readonly string[];
  /** Which of the paths holds the Vault's root key (the db-config volume): a copy to another environment leaves it. */
  readonly vaultKeyPath?: string;
  readonly retention: RetentionConfig;
  /** Uptime Kuma's push URL for this job's monitor; it holds the monitor's token. */
  readonly kumaPushUrl?: string;
  readonly hcUrl?: string;
  readonly drillHcUrl?: string;
  readonly copyHcUrl?: string;
  /** The second copy: its repository (this job's own prefix), password, S3 keys and retention. */
  readonly copy?: { readonly repository: string; readonly password: string; readonly accessKeyId: string; readonly secretAccessKey: string; readonly retention: RetentionConfig };
  /** Continuous WAL archiving (wal.sh): the project's spool on the worker, and when to alert. */
  readonly wal?: { readonly spool: string; readonly alertAfterSeconds: number; readonly pgWalLimitMiB: number; readonly kumaPushUrl?: string };
  readonly ntfyUrl?: string;
  readonly ntfyToken?: string;
  readonly telegramChat?: string;
  readonly telegramToken?: string;
}

/** Single-quoted for bash: nothing inside is expanded. */
export function renderBackupEnv(s: BackupSettings): string {
  if ([...s.paths, ...(s.sourcePaths ?? [])].some((p) => /\s/.test(p))) throw new Error(`backup paths of ${s.name} must not contain spaces`);
  const entries: [string, string | undefined][] = [
    ["PROJECT", s.name],
    ["RESTIC_REPOSITORY", s.repository],
    ["RESTIC_PASSWORD", s.resticPassword],
    // Set for the run after a rotation: the enable step re-keys the repository from it to RESTIC_PASSWORD.
    ["RESTIC_PREVIOUS_PASSWORD", s.resticPreviousPassword],
    ["SFTP_PASSWORD", s.sftpPassword],
    ["READER_KEY", s.readerKey],
    ["READ_ONLY", s.readOnly ? "1" : undefined],
    ["SNAPSHOT_HOST", s.snapshotHost],
    ["SOURCE_PATHS", s.sourcePaths?.join(" ")],
    ["DRILL_IMAGE", s.drillImage],
    ["DB_CONTAINER", s.dbContainer],
    ["BACKUP_PATHS", s.paths.join(" ")],
    ["VAULT_KEY_PATH", s.vaultKeyPath],
    // The roles whose passwords a whole restore sets again from the project's own secrets.
    ["PASSWORD_ROLES", s.dbContainer !== undefined ? PASSWORD_ROLES.join(" ") : undefined],
    ["KEEP_DAILY", String(s.retention.daily)],
    ["KEEP_WEEKLY", String(s.retention.weekly)],
    ["KEEP_MONTHLY", String(s.retention.monthly)],
    ["CHECK_WEEKDAY", "7"],
    ["KUMA_PUSH_URL", s.kumaPushUrl],
    ["WAL_SPOOL", s.wal?.spool],
    ["WAL_ALERT_AFTER", s.wal !== undefined ? String(s.wal.alertAfterSeconds) : undefined],
    ["WAL_PGWAL_LIMIT_MIB", s.wal !== undefined ? String(s.wal.pgWalLimitMiB) : undefined],
    ["WAL_KUMA_PUSH_URL", s.wal?.kumaPushUrl],
    ["HC_URL", s.hcUrl],
    ["DRILL_HC_URL", s.drillHcUrl],
    ["COPY_HC_URL", s.copyHcUrl],
    // healthchecks.io creates a check the first time its slug is pinged.
    ["HC_QUERY", s.hcUrl !== undefined ? "?create=1" : undefined],
    ["NTFY_URL", s.ntfyUrl],
    ["NTFY_TOKEN", s.ntfyToken],
    ["TELEGRAM_CHAT", s.telegramChat],
    ["TELEGRAM_TOKEN", s.telegramToken],
    ["COPY_REPOSITORY", s.copy?.repository],
    ["COPY_PASSWORD", s.copy?.password],
    ["AWS_ACCESS_KEY_ID", s.copy?.accessKeyId],
    ["AWS_SECRET_ACCESS_KEY", s.copy?.secretAccessKey],
    ["COPY_KEEP_DAILY", s.copy ? String(s.copy.retention.daily) : undefined],
    ["COPY_KEEP_WEEKLY", s.copy ? String(s.copy.retention.weekly) : undefined],
    ["COPY_KEEP_MONTHLY", s.copy ? String(s.copy.retention.monthly) : undefined],
  ];
  return ["# supafleet: backup settings; holds secrets. Mode 0600, root only.", ...entries.filter(([, v]) => v !== undefined && v !== "").map(([k, v]) => `${k}=${shellQuote(v!)}`)].join("\n") + "\n";
}

/** A healthchecks.io slug URL: <base>/<ping key>/<slug>. */
export function healthcheckUrl(base: string, pingKey: string, slug: string): string {
  return `${base.replace(/\/+$/, "")}/${pingKey}/${slug}`;
}
