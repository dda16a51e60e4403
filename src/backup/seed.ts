import type { SchemaPack } from "../config/schema";
import { template } from "../render/templates";
import { renderBackupEnv } from "./settings";

/** What reading a job's repository takes, and nothing more: its read-only credential. */
export interface BackupReader {
  readonly job: string;
  readonly repository: string;
  /** A restic key of the reader's own, not the job's password. */
  readonly resticPassword: string;
  readonly sftpPassword: string;
}

/** Which snapshot a seed takes: restore.sh's own options for it. */
export function snapshotOptions(snapshot: string): string[] {
  if (snapshot === "latest") return [];
  if (/^[0-9a-f]{8,64}$/.test(snapshot)) return ["--snapshot", snapshot];
  return ["--at", snapshot.replace("T", " ").replace(/Z$/, "")];
}

/** Where a seed restores to: a moment, replayed from the source's WAL archive, or else one snapshot. */
export function seedOptions(from: { readonly snapshot: string; readonly time?: string | undefined }): string[] {
  // The schema lets only one of the two be written; snapshot's "latest" is then only its default.
  return from.time !== undefined ? ["--time", from.time] : snapshotOptions(from.snapshot);
}

/** The SQL that scrubs a copy for another environment: every project's, then each schema pack's own hook. */
export function anonymiseSql(packs: readonly SchemaPack[]): string {
  return [template("sql/anonymise/core.sql"), ...packs.map((p) => template(`sql/anonymise/${p}.sql`))].join("\n");
}

export interface SeedArgs {
  /** The project being seeded, on this worker. */
  readonly project: string;
  readonly dbContainer: string;
  /** Where its files go; `sourcePaths` says where they were backed up from, pair by pair. */
  readonly paths: readonly string[];
  readonly sourcePaths: readonly string[];
  readonly vaultKeyPath: string;
  readonly reader: BackupReader;
  readonly snapshot: string;
  /** A point-in-time restore to this moment (restoreFrom.time), in place of the snapshot. */
  readonly time?: string;
  /** Another environment's data: anonymised with these packs' hooks, and without its Vault key. */
  readonly anonymise?: readonly SchemaPack[];
}

/**
 * The payload of a project's seed command: restore settings that read the
 * source's repository through its read-only credential, the restore.sh options,
 * and for another environment the anonymisation SQL. It holds the reader's
 * secrets, so it travels only as a secret on stdin.
 */
export function seedPayload(a: SeedArgs): string {
  const settings = renderBackupEnv({
    name: a.project,
    repository: a.reader.repository,
    resticPassword: a.reader.resticPassword,
    sftpPassword: a.reader.sftpPassword,
    readOnly: true,
    snapshotHost: a.reader.job,
    dbContainer: a.dbContainer,
    paths: a.paths,
    sourcePaths: a.sourcePaths,
    vaultKeyPath: a.vaultKeyPath,
    retention: { daily: 7, weekly: 4, monthly: 6 },
  });
  const options = [...seedOptions(a), ...(a.anonymise !== undefined ? ["--no-vault-key"] : [])];
  return JSON.stringify({ settings, options, ...(a.anonymise !== undefined ? { anonymise: anonymiseSql(a.anonymise) } : {}) });
}
