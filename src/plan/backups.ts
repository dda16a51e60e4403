import type { FleetConfig } from "../config/schema";
import { WAL_SPOOL_ROOT } from "../supabase/compose";
import { retiredName, SCHEMA_PACKS } from "../config/schema";
import { RELEASES } from "../model/releases";
import { SERVICES, type ServiceName } from "../model/services";
import { containerName, volumeName } from "../supabase/naming";
import type { AlertingPlan, BackupJobPlan, BackupsPlan, ProjectPlan, SeedPlan } from "./types";

export const MASTER_BACKUP_PATHS = ["/etc/wireguard", "/etc/nftables.d", "/etc/supafleet", "/opt/supafleet/master"];

/**
 * What a project's backup covers besides its database: storage objects, its non-secret config (the
 * Compose release and the database's init files) and the database's config volume, which holds the Vault
 * key. Its edge functions and Auth settings come from this repository and the stack: `pulumi up` sends them again.
 * A project without Storage has no storage volume, so its backup does not name one (`services`, from
 * workerServices(); a retired job's are unknown, so it names everything a project may have had).
 */
export function projectBackupPaths(project: string, services: readonly ServiceName[] = SERVICES): string[] {
  return [
    ...(services.includes("storage") ? [`/var/lib/docker/volumes/${volumeName(project, "storage")}/_data`] : []),
    `/opt/supafleet/projects/${project}/releases/current`,
    `/opt/supafleet/projects/${project}/assets`,
    vaultKeyPath(project),
  ];
}

/** Supabase's db-config volume (/etc/postgresql-custom in the db container): the Vault's root key. */
export function vaultKeyPath(project: string): string {
  return `/var/lib/docker/volumes/${volumeName(project, "db-config")}/_data`;
}

/** Where alerts go; whether ntfy has a token is known from the secure keys set (its token is optional). */
export function planAlerting(a: FleetConfig["alerting"], ntfyTokenSet: boolean): AlertingPlan {
  return {
    ...(a.healthchecks !== undefined ? { healthchecksBase: a.healthchecks.baseUrl } : {}),
    ...(a.ntfy !== undefined ? { ntfy: { server: a.ntfy.server, topic: a.ntfy.topic, url: `${a.ntfy.server.replace(/\/+$/, "")}/${a.ntfy.topic}`, token: ntfyTokenSet } } : {}),
    ...(a.telegram !== undefined ? { telegramChat: a.telegram.chatId } : {}),
  };
}

/** Each project's job in project order, then the retired ones, then the master's. */
export function backupJobs(cfg: FleetConfig, projects: readonly ProjectPlan[], master: string): BackupJobPlan[] {
  const job = (name: string, services?: readonly ServiceName[]) => ({ job: name, dbContainer: containerName(name, "db"), paths: projectBackupPaths(name, services), vaultKeyPath: vaultKeyPath(name) });
  return [
    ...projects.map(
      (p): BackupJobPlan => ({
        kind: "project",
        ...job(p.name, p.services),
        worker: p.worker.name,
        resticRotation: p.rotate.restic,
        ...(p.walArchive !== undefined ? { walArchive: { ...p.walArchive, spool: `${WAL_SPOOL_ROOT}/${p.name}` } } : {}),
      }),
    ),
    ...cfg.backups.retired.map((r): BackupJobPlan => ({ kind: "retired", ...job(retiredName(r)), resticRotation: typeof r === "string" ? 0 : r.rotate.restic })),
    { kind: "master", job: master, paths: MASTER_BACKUP_PATHS, resticRotation: cfg.backups.master?.rotate.restic ?? 0 },
  ];
}

/**
 * New projects whose data starts from another's backup; a copy from another stack is anonymised by every pack's hook.
 * The paths pair up by what the new project keeps: storage files only if it runs Storage. A source that had
 * none leaves its storage empty (restore.sh finds nothing there and goes on); one that had some while the
 * new project has no Storage keeps them in its own backup.
 */
export function seedPlans(projects: readonly ProjectPlan[]): SeedPlan[] {
  return projects.flatMap((p): SeedPlan[] => {
    const from = p.restoreFrom;
    if (from === undefined) return [];
    return [
      {
        project: p.name,
        from,
        sourcePaths: projectBackupPaths(from.project, p.services),
        paths: projectBackupPaths(p.name, p.services),
        vaultKeyPath: vaultKeyPath(p.name),
        ...(from.stack !== undefined ? { anonymise: SCHEMA_PACKS } : {}),
      },
    ];
  });
}

export function planBackups(cfg: FleetConfig, projects: readonly ProjectPlan[], master: string, alerting: AlertingPlan): BackupsPlan {
  const b = cfg.backups;
  return {
    vault: { type: b.storageBox.type, location: b.storageBox.location },
    times: { time: b.time, randomizedDelayMinutes: b.randomizedDelayMinutes, drillDay: b.restoreDrillDay },
    retention: b.retention,
    disposable: b.disposable,
    ...(b.copy !== undefined ? { copy: { repository: b.copy.repository, retention: b.copy.retention ?? b.retention } } : {}),
    alerting,
    jobs: backupJobs(cfg, projects, master),
    seeds: seedPlans(projects),
    // Staging drills prod: every job of the other stack, into throwaway databases on one of this stack's workers.
    ...(b.drillOf !== undefined
      ? { drill: { stack: b.drillOf.stack, worker: b.drillOf.worker, defaultImage: RELEASES[cfg.supabase.release]!.images.db, drillDay: b.restoreDrillDay, retention: b.retention } }
      : {}),
  };
}
