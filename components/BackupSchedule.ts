import * as pulumi from "@pulumi/pulumi";
import * as hcloud from "@pulumi/hcloud";
import * as random from "@pulumi/random";
import { FleetComponent } from "../src/component";
import { labels } from "../src/labels";
import type { ProjectModel } from "../src/model/fleet";

export interface Retention {
  readonly daily: number;
  readonly weekly: number;
  readonly monthly: number;
}

export interface BackupScheduleArgs {
  readonly env: string;
  readonly project: ProjectModel;
  readonly storageBoxId: pulumi.Input<number>;
  readonly retention: Retention;
  /** Local time of day, HH:MM. */
  readonly time: string;
  readonly randomizedDelayMinutes: number;
}

/** A project's nightly restic backup to its own Storage Box sub-account. */
export class BackupSchedule extends FleetComponent {
  readonly retention: Retention;
  readonly subaccount: hcloud.StorageBoxSubaccount;
  readonly resticPassword: pulumi.Output<string>;
  readonly repository: pulumi.Output<string>;

  constructor(name: string, args: BackupScheduleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("supafleet:index:BackupSchedule", name, opts);
    const child = { parent: this };
    this.retention = args.retention;

    this.resticPassword = new random.RandomPassword(`${name}-restic-password`, { length: 48, special: false }, child).result;
    const subaccountPassword = new random.RandomPassword(
      `${name}-subaccount-password`,
      { length: 40, special: true, overrideSpecial: "-_.+", minSpecial: 2, minUpper: 2, minLower: 2, minNumeric: 2 },
      child,
    );
    // One directory and one credential per project: no project can reach another's repository.
    this.subaccount = new hcloud.StorageBoxSubaccount(
      `${name}-subaccount`,
      {
        storageBoxId: args.storageBoxId,
        homeDirectory: `projects/${args.project.name}`,
        password: subaccountPassword.result,
        description: `supafleet ${args.env}: backups of ${args.project.name}`,
        accessSettings: { sshEnabled: true, reachableExternally: true, readonly: false, sambaEnabled: false, webdavEnabled: false },
        labels: labels(args.env, "backups", { project: args.project.name }),
      },
      child,
    );
    // Port 23 is the Storage Box's SSH service with SFTP for restic; the URL form keeps the port.
    this.repository = pulumi.interpolate`sftp://${this.subaccount.username}@${this.subaccount.server}:23//restic`;

    this.registerOutputs({ repository: this.repository, retention: this.retention });
  }
}
