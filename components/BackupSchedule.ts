import * as pulumi from "@pulumi/pulumi";
import * as hcloud from "@pulumi/hcloud";
import * as random from "@pulumi/random";
import * as command from "@pulumi/command";
import type { types } from "@pulumi/command";
import { FleetComponent } from "../src/component";
import { labels } from "../src/labels";
import { STORAGE_BOX_PASSWORD, healthcheckUrl, renderBackupEnv } from "../src/backup/settings";
import type { RetentionConfig } from "../src/config/schema";
import { renderWithSecrets } from "../src/render/artifact";
import { fillTemplate } from "../src/render/templates";

/** Where alerts and health pings go; the secret parts come from secure config. */
export interface BackupAlerting {
  readonly healthchecksBase?: string;
  readonly healthchecksPingKey?: pulumi.Input<string>;
  readonly ntfyUrl?: string;
  readonly ntfyToken?: pulumi.Input<string>;
  readonly telegramChat?: string;
  readonly telegramToken?: pulumi.Input<string>;
}

export interface BackupScheduleArgs {
  /** The job: a project's name, or the master's. Names the repository, units and files on the server. */
  readonly job: string;
  readonly env: string;
  readonly storageBoxId: pulumi.Input<number>;
  readonly retention: RetentionConfig;
  /** The server that runs the job, reached over SSH. */
  readonly connection: pulumi.Input<types.input.remote.ConnectionArgs>;
  /** The backup tools are installed and, for a project, its database runs. */
  readonly after: pulumi.Input<pulumi.Resource>[];
  /** The project's database container; none for the master. */
  readonly dbContainer?: string;
  readonly paths: readonly string[];
  readonly alerting: BackupAlerting;
  /** Uptime Kuma's push endpoint on the hub, without the token: each run pushes its result there. */
  readonly kumaPushBase: string;
}

/**
 * A nightly restic backup to the job's own Storage Box sub-account, with
 * 7/4/6 retention (or more), health pings, alerts, a weekly check and a
 * monthly restore drill. The repository is initialised once and never
 * removed by the program.
 */
export class BackupSchedule extends FleetComponent {
  readonly retention: RetentionConfig;
  readonly subaccount: hcloud.StorageBoxSubaccount;
  readonly resticPassword: pulumi.Output<string>;
  readonly repository: pulumi.Output<string>;
  /** The token of this job's Kuma push monitor. */
  readonly pushToken: pulumi.Output<string>;

  /** Named `<job>-backup`; until 0.2 it was `<job>`, beside the project of the same name. */
  constructor(args: BackupScheduleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("supafleet:index:BackupSchedule", `${args.job}-backup`, opts, args.job);
    const name = args.job;
    this.retention = args.retention;

    const resticPassword = this.child("restic-password");
    this.resticPassword = new random.RandomPassword(resticPassword.name, { length: 48, special: false }, resticPassword.opts).result;
    const sftp = this.child("subaccount-password");
    const subaccountPassword = new random.RandomPassword(sftp.name, STORAGE_BOX_PASSWORD, sftp.opts).result;
    // One directory and one credential per job: no project can reach another's repository.
    const sub = this.child("subaccount");
    this.subaccount = new hcloud.StorageBoxSubaccount(
      sub.name,
      {
        storageBoxId: args.storageBoxId,
        homeDirectory: `supafleet/${args.env}/${name}`,
        password: subaccountPassword,
        description: `supafleet ${args.env}: backups of ${name}`,
        accessSettings: { sshEnabled: true, reachableExternally: true, readonly: false, sambaEnabled: false, webdavEnabled: false },
        labels: labels(args.env, "backups", { job: name }),
      },
      sub.opts,
    );
    // Port 23 is the Storage Box's SSH service with SFTP for restic; the URL form keeps the port.
    this.repository = pulumi.interpolate`sftp://${this.subaccount.username}@${this.subaccount.server}:23//restic`;

    const push = this.child("push-token");
    this.pushToken = new random.RandomPassword(push.name, { length: 32, special: false }, push.opts).result;

    const a = args.alerting;
    const slug = (what: string): string => `supafleet-${args.env}-${name}-${what}`;
    const secrets = {
      resticPassword: this.resticPassword,
      sftpPassword: subaccountPassword,
      pushToken: this.pushToken,
      ...(a.healthchecksPingKey !== undefined ? { pingKey: a.healthchecksPingKey } : {}),
      ...(a.ntfyToken !== undefined ? { ntfyToken: a.ntfyToken } : {}),
      ...(a.telegramToken !== undefined ? { telegramToken: a.telegramToken } : {}),
    } as Record<"resticPassword" | "sftpPassword" | "pushToken" | "pingKey" | "ntfyToken" | "telegramToken", pulumi.Input<string>>;
    const settings = this.keep(
      renderWithSecrets(`backups/${name}.env`, secrets, (s) =>
        this.repository.apply((repository) =>
          renderBackupEnv({
            name,
            repository,
            resticPassword: s.resticPassword,
            sftpPassword: s.sftpPassword,
            ...(args.dbContainer !== undefined ? { dbContainer: args.dbContainer } : {}),
            paths: args.paths,
            retention: args.retention,
            kumaPushUrl: `${args.kumaPushBase}${s.pushToken}`,
            ...(a.healthchecksBase !== undefined && s.pingKey !== undefined
              ? { hcUrl: healthcheckUrl(a.healthchecksBase, s.pingKey, slug("backup")), drillHcUrl: healthcheckUrl(a.healthchecksBase, s.pingKey, slug("drill")) }
              : {}),
            ...(a.ntfyUrl !== undefined ? { ntfyUrl: a.ntfyUrl, ...(s.ntfyToken !== undefined ? { ntfyToken: s.ntfyToken } : {}) } : {}),
            ...(a.telegramChat !== undefined && s.telegramToken !== undefined ? { telegramChat: a.telegramChat, telegramToken: s.telegramToken } : {}),
          }),
        ),
      ),
    );

    const drill = args.dbContainer !== undefined ? `"supafleet-drill@${name}.timer"` : "";
    const enable = this.child("enable", "backup-enable");
    new command.remote.Command(
      enable.name,
      {
        connection: args.connection,
        create: fillTemplate("worker/backup-enable.sh", { name, drillTimer: drill }),
        delete: fillTemplate("worker/backup-disable.sh", { name }),
        stdin: settings,
      },
      { ...enable.opts, dependsOn: args.after },
    );

    this.registerOutputs({ job: name, repository: this.repository, retention: this.retention });
  }
}
