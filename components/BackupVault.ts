import * as pulumi from "@pulumi/pulumi";
import * as hcloud from "@pulumi/hcloud";
import * as random from "@pulumi/random";
import { FleetComponent } from "../src/resources/component";
import { labels } from "../src/resources/labels";
import { STORAGE_BOX_PASSWORD } from "../src/backup/settings";

export interface BackupVaultArgs {
  readonly env: string;
  readonly protect: boolean;
  readonly type: string;
  readonly location: string;
}

/**
 * The environment's Hetzner Storage Box. Projects never use its main account:
 * each gets a sub-account confined to its own directory (BackupSchedule).
 */
export class BackupVault extends FleetComponent {
  readonly storageBox: hcloud.StorageBox;
  readonly storageBoxId: pulumi.Output<number>;

  constructor(name: string, args: BackupVaultArgs, opts?: pulumi.ComponentResourceOptions) {
    super("supafleet:index:BackupVault", name, opts);
    const child = { parent: this };
    const password = new random.RandomPassword(`${name}-password`, STORAGE_BOX_PASSWORD, child);
    this.storageBox = new hcloud.StorageBox(
      `${name}-storage-box`,
      {
        name: `supafleet-${args.env}`,
        storageBoxType: args.type,
        location: args.location,
        password: password.result,
        accessSettings: { sshEnabled: true, reachableExternally: true, sambaEnabled: false, webdavEnabled: false, zfsEnabled: false },
        deleteProtection: args.protect,
        labels: labels(args.env, "backups"),
      },
      { ...child, protect: args.protect },
    );
    this.storageBoxId = this.storageBox.id.apply(Number);
    this.registerOutputs({ storageBoxId: this.storageBoxId });
  }
}
