import type * as pulumi from "@pulumi/pulumi";
import type { BackupAlerting, BackupSchedule, BackupScheduleArgs } from "../../components/BackupSchedule";
import type { BackupVault } from "../../components/BackupVault";
import type { MasterNode } from "../../components/MasterNode";
import type { RmmNode } from "../../components/RmmNode";
import type { SupabaseProject } from "../../components/SupabaseProject";
import type { WorkerNode } from "../../components/WorkerNode";
import type { Deferred } from "../resources/deferred";

/** What each builder hands the next: the components made so far, by role. */
export interface Nodes {
  readonly master: MasterNode;
  readonly workers: ReadonlyMap<string, WorkerNode>;
  readonly rmm?: RmmNode;
}

export interface Projects {
  readonly projects: ReadonlyMap<string, SupabaseProject>;
  /**
   * What each project's deploy also waits for, known only once backups exist: its backup's sub-account
   * (so that on removal and on `pulumi destroy` the final backup runs before the credential can go) and,
   * for a moving project, the final backup and stop on the worker it leaves.
   */
  readonly deployAfter: ReadonlyMap<string, Deferred<pulumi.Resource[]>>;
}

export interface Backups {
  readonly vault: BackupVault;
  /** By job: every project's, the retired ones' and the master's. */
  readonly schedules: Map<string, BackupSchedule>;
  readonly alerting: BackupAlerting;
  /** The settings every job shares: the Storage Box, retention, alerting, Kuma's push base, the second copy. */
  readonly common: Omit<BackupScheduleArgs, "job" | "after" | "paths">;
}
