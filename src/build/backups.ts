import * as pulumi from "@pulumi/pulumi";
import { BackupDrill, type DrilledJob } from "../../components/BackupDrill";
import { BackupSchedule, type BackupAlerting, type BackupCopy } from "../../components/BackupSchedule";
import { BackupVault } from "../../components/BackupVault";
import { healthcheckUrl } from "../backup/settings";
import { masterConnection, workerConnection } from "../resources/connections";
import { kumaPushBase } from "../monitoring/agent";
import type { BackupJobPlan, FleetPlan } from "../plan/types";
import type { Backups, Nodes, Projects } from "./parts";
import type { FleetSecrets } from "./secrets";
import { stackReference, type StackReferences } from "./stackReferences";


/** The plan's alerting with its secrets. */
export function backupAlerting(plan: FleetPlan, secrets: FleetSecrets): BackupAlerting {
  const a = plan.backups.alerting;
  return {
    ...(a.healthchecksBase !== undefined ? { healthchecksBase: a.healthchecksBase, ...(secrets.healthchecksPingKey !== undefined ? { healthchecksPingKey: secrets.healthchecksPingKey } : {}) } : {}),
    ...(a.ntfy !== undefined ? { ntfyUrl: a.ntfy.url, ...(secrets.ntfyToken !== undefined ? { ntfyToken: secrets.ntfyToken } : {}) } : {}),
    ...(a.telegramChat !== undefined ? { telegramChat: a.telegramChat, ...(secrets.telegramBotToken !== undefined ? { telegramToken: secrets.telegramBotToken } : {}) } : {}),
  };
}

/** The Storage Box, then the backup jobs of projects (running and retired); the master's comes later. */
export function buildBackups(plan: FleetPlan, nodes: Nodes, projects: Projects, secrets: FleetSecrets): Backups {
  const b = plan.backups;
  const vault = new BackupVault("backups", { env: plan.env, protect: plan.protect, type: b.vault.type, location: b.vault.location });
  const alerting = backupAlerting(plan, secrets);
  const copy: BackupCopy | undefined = b.copy !== undefined && secrets.copy !== undefined ? { ...b.copy, ...secrets.copy } : undefined;
  // What every job shares, worked out once.
  const common = {
    env: plan.env,
    storageBoxId: vault.storageBoxId,
    retention: b.retention,
    alerting,
    kumaPushBase: kumaPushBase(plan.wireguard.hub),
    disposable: b.disposable,
    ...(copy !== undefined ? { copy } : {}),
  };
  const backups: Backups = { vault, schedules: new Map(), alerting, common };
  for (const job of b.jobs) if (job.kind !== "master") backups.schedules.set(job.job, schedule(backups, job, nodes, projects));
  return backups;
}

/** The master's own state: WireGuard, its firewall, cloudflared's token, Uptime Kuma and n8n data. */
export function buildMasterBackup(plan: FleetPlan, nodes: Nodes, projects: Projects, backups: Backups): void {
  const job = plan.backups.jobs.find((j) => j.kind === "master")!;
  backups.schedules.set(job.job, schedule(backups, job, nodes, projects));
}

function schedule(backups: Backups, job: BackupJobPlan, nodes: Nodes, projects: Projects): BackupSchedule {
  const common = backups.common;
  switch (job.kind) {
    case "project": {
      const worker = nodes.workers.get(job.worker)!;
      return new BackupSchedule({
        ...common,
        job: job.job,
        connection: workerConnection(nodes.master.ssh, worker.address),
        after: [worker.backupTools, projects.projects.get(job.job)!.deployed],
        dbContainer: job.dbContainer,
        paths: [...job.paths],
        vaultKeyPath: job.vaultKeyPath,
        resticRotation: job.resticRotation,
        ...(job.walArchive !== undefined ? { walArchive: { spool: job.walArchive.spool, alertAfterSeconds: job.walArchive.alertAfterSeconds, pgWalLimitMiB: job.walArchive.pgWalLimitMiB } } : {}),
      });
    }
    case "retired":
      return new BackupSchedule({ ...common, job: job.job, after: [], dbContainer: job.dbContainer, paths: [...job.paths], vaultKeyPath: job.vaultKeyPath, retired: true, resticRotation: job.resticRotation });
    case "master":
      return new BackupSchedule({ ...common, job: job.job, connection: masterConnection(nodes.master.ssh), after: [nodes.master.backupTools], paths: [...job.paths], resticRotation: job.resticRotation });
  }
}

/** Staging drills another stack's backups: every job of it, into throwaway databases on one of this stack's workers. */
export function buildDrills(plan: FleetPlan, nodes: Nodes, backups: Backups, secrets: FleetSecrets, refs: StackReferences): BackupDrill[] {
  const d = plan.backups.drill;
  if (d === undefined) return [];
  const worker = nodes.workers.get(d.worker)!;
  const a = backups.alerting;
  const pingKey = secrets.healthchecksPingKey;
  return [
    new BackupDrill({
      stack: d.stack,
      env: plan.env,
      jobs: stackReference(refs, d.stack).getOutput("backupReaders") as pulumi.Output<Record<string, DrilledJob>>,
      defaultImage: d.defaultImage,
      connection: workerConnection(nodes.master.ssh, worker.address),
      after: [worker.backupTools],
      alerting: {
        ...(a.healthchecksBase !== undefined && pingKey !== undefined
          ? { drillHcUrl: (job: string) => pingKey.apply((k) => healthcheckUrl(a.healthchecksBase!, k, `supafleet-${plan.env}-drill-${d.stack}-${job}`)) }
          : {}),
        ...(a.ntfyUrl !== undefined ? { ntfyUrl: a.ntfyUrl, ...(a.ntfyToken !== undefined ? { ntfyToken: a.ntfyToken } : {}) } : {}),
        ...(a.telegramChat !== undefined && a.telegramToken !== undefined ? { telegramChat: a.telegramChat, telegramToken: a.telegramToken } : {}),
      },
      drillDay: d.drillDay,
      retention: d.retention,
    }),
  ];
}
