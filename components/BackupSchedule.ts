import * as pulumi from "@pulumi/pulumi";
import * as hcloud from "@pulumi/hcloud";
import * as random from "@pulumi/random";
import * as command from "@pulumi/command";
import type { types } from "@pulumi/command";
import { FleetComponent } from "../src/resources/component";
import { labels } from "../src/resources/labels";
import { STORAGE_BOX_PASSWORD, healthcheckUrl, renderBackupEnv } from "../src/backup/settings";
import type { BackupReader } from "../src/backup/seed";
import type { RetentionConfig } from "../src/config/schema";
import { renderWithSecrets } from "../src/render/artifact";
import { renderScript } from "../src/render/script";

/** Where alerts and health pings go; the secret parts come from secure config. */
export interface BackupAlerting {
  readonly healthchecksBase?: string;
  readonly healthchecksPingKey?: pulumi.Input<string>;
  readonly ntfyUrl?: string;
  readonly ntfyToken?: pulumi.Input<string>;
  readonly telegramChat?: string;
  readonly telegramToken?: pulumi.Input<string>;
}

/** The second copy of every repository (backups.copy): an S3 bucket and its keys. */
export interface BackupCopy {
  readonly repository: string;
  readonly retention: RetentionConfig;
  readonly accessKeyId: pulumi.Input<string>;
  readonly secretAccessKey: pulumi.Input<string>;
}

export interface BackupScheduleArgs {
  /** The job: a project's name, or the master's. Names the repository, units and files on the server. */
  readonly job: string;
  readonly env: string;
  readonly storageBoxId: pulumi.Input<number>;
  readonly retention: RetentionConfig;
  /** The server that runs the job, reached over SSH; none for a retired job. */
  readonly connection?: pulumi.Input<types.input.remote.ConnectionArgs>;
  /** The backup tools are installed and, for a project, its database runs. */
  readonly after: pulumi.Input<pulumi.Resource>[];
  /** The project's database container; none for the master. */
  readonly dbContainer?: string;
  readonly paths: readonly string[];
  /** The path among them that holds the Vault key (the db-config volume). */
  readonly vaultKeyPath?: string;
  readonly alerting: BackupAlerting;
  /** Uptime Kuma's push endpoint on the hub, without the token: each run pushes its result there. */
  readonly kumaPushBase: string;
  readonly copy?: BackupCopy;
  /**
   * The project is gone and its backups are kept (backups.retired): the credentials and the
   * repository stay, nothing runs. Removing the enable command disables the job's timers.
   */
  readonly retired?: boolean;
  /** backups.disposable: an e2e stack's credentials are not protected, so `pulumi destroy` can take them. */
  readonly disposable?: boolean;
  /** The restic password's rotation round (rotate.restic): each round is a new password, every earlier one kept. */
  readonly resticRotation?: number;
  /** The project's continuous WAL archive (wal.sh): its spool folder on the worker, and when to alert. */
  readonly walArchive?: { readonly spool: string; readonly alertAfterSeconds: number; readonly pgWalLimitMiB: number };
}

/**
 * A nightly restic backup to the job's own Storage Box sub-account, with
 * 7/4/6 retention (or more), health pings, alerts, a weekly check, a monthly
 * restore drill and, if configured, a second copy. The repository is
 * initialised once and never removed by the program: its credentials are
 * protected, so a project dropped from the stack file without being retired
 * stops `pulumi up` rather than losing its backups. A second, read-only
 * credential (a read-only sub-account and a restic key of its own) lets other
 * projects and the staging drill read the repository without being able to
 * change it.
 */
export class BackupSchedule extends FleetComponent {
  readonly retention: RetentionConfig;
  readonly subaccount: hcloud.StorageBoxSubaccount;
  readonly resticPassword: pulumi.Output<string>;
  readonly repository: pulumi.Output<string>;
  /** The job's settings and timers in place on its host (absent for a retired job). */
  readonly enabled?: command.remote.Command;
  /** The token of this job's Kuma push monitor. */
  readonly pushToken: pulumi.Output<string>;
  /** The token of its WAL archive's Uptime Kuma push monitor, when it archives. */
  readonly walPushToken?: pulumi.Output<string>;
  /** The read-only credential, a secret. */
  readonly reader: pulumi.Output<BackupReader>;
  /** The same, field by field, for the stack output: only the passwords are secrets. */
  readonly readerOutput: { readonly job: string; readonly repository: pulumi.Output<string>; readonly resticPassword: pulumi.Output<string>; readonly sftpPassword: pulumi.Output<string> };

  /**
   * Named `<job>-backup`, beside its project rather than under it: a retired
   * job outlives its project, and a move in the tree would be a new URN for
   * its protected credentials.
   */
  constructor(args: BackupScheduleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("supafleet:index:BackupSchedule", `${args.job}-backup`, opts);
    const name = args.job;
    this.retention = args.retention;
    // Losing any of these loses the backups: nothing deletes them without an explicit `pulumi state unprotect`.
    const keep = (c: { name: string; opts: pulumi.CustomResourceOptions }): { name: string; opts: pulumi.CustomResourceOptions } => ({ name: c.name, opts: { ...c.opts, protect: args.disposable !== true } });
    const password = (suffix: string, shape: random.RandomPasswordArgs = { length: 48, special: false }): pulumi.Output<string> => {
      const c = keep(this.child(suffix));
      return new random.RandomPassword(c.name, shape, c.opts).result;
    };

    // Round 0 is the password made first; each rotation adds one. All stay (protected, like the rest): the
    // enable step needs the previous one to re-key, and dropping one would try to delete it.
    const round = args.resticRotation ?? 0;
    const rounds = Array.from({ length: round + 1 }, (_, i) => password(i === 0 ? "restic-password" : `restic-password-r${i}`));
    this.resticPassword = rounds[round]!;
    const previousPassword = round > 0 ? rounds[round - 1] : undefined;
    const subaccountPassword = password("subaccount-password", STORAGE_BOX_PASSWORD);
    const home = `supafleet/${args.env}/${name}`;
    // One directory and one credential per job: no project can reach another's repository.
    const sub = keep(this.child("subaccount"));
    this.subaccount = new hcloud.StorageBoxSubaccount(
      sub.name,
      {
        storageBoxId: args.storageBoxId,
        homeDirectory: home,
        password: subaccountPassword,
        description: `supafleet ${args.env}: backups of ${name}`,
        accessSettings: { sshEnabled: true, reachableExternally: true, readonly: false, sambaEnabled: false, webdavEnabled: false },
        labels: labels(args.env, "backups", { job: name }),
      },
      sub.opts,
    );
    // Port 23 is the Storage Box's SSH service with SFTP for restic; the URL form keeps the port.
    const repositoryOf = (s: hcloud.StorageBoxSubaccount): pulumi.Output<string> => pulumi.interpolate`sftp://${s.username}@${s.server}:23//restic`;
    this.repository = repositoryOf(this.subaccount);

    // The reader: a read-only sub-account on the same directory, and a restic key of its own.
    const readerKey = password("reader-key");
    const readerPassword = password("reader-subaccount-password", STORAGE_BOX_PASSWORD);
    const rd = keep(this.child("reader"));
    const readerAccount = new hcloud.StorageBoxSubaccount(
      rd.name,
      {
        storageBoxId: args.storageBoxId,
        homeDirectory: home,
        password: readerPassword,
        description: `supafleet ${args.env}: read-only access to the backups of ${name}`,
        accessSettings: { sshEnabled: true, reachableExternally: true, readonly: true, sambaEnabled: false, webdavEnabled: false },
        labels: labels(args.env, "backups", { job: name, access: "read-only" }),
      },
      rd.opts,
    );
    const readerRepository = repositoryOf(readerAccount);
    this.reader = pulumi.secret(
      pulumi.all([readerRepository, readerKey, readerPassword]).apply(([repository, resticPassword, sftpPassword]): BackupReader => ({ job: name, repository, resticPassword, sftpPassword })),
    );
    this.readerOutput = { job: name, repository: readerRepository, resticPassword: pulumi.secret(readerKey), sftpPassword: pulumi.secret(readerPassword) };

    const push = this.child("push-token");
    this.pushToken = new random.RandomPassword(push.name, { length: 32, special: false }, push.opts).result;
    if (args.walArchive !== undefined) {
      const walPush = this.child("wal-push-token");
      this.walPushToken = new random.RandomPassword(walPush.name, { length: 32, special: false }, walPush.opts).result;
    }
    const copyPassword = args.copy !== undefined ? password("copy-password") : undefined;

    const a = args.alerting;
    const slug = (what: string): string => `supafleet-${args.env}-${name}-${what}`;
    const secrets = {
      resticPassword: this.resticPassword,
      ...(previousPassword !== undefined ? { resticPreviousPassword: previousPassword } : {}),
      sftpPassword: subaccountPassword,
      readerKey,
      pushToken: this.pushToken,
      ...(this.walPushToken !== undefined ? { walPushToken: this.walPushToken } : {}),
      ...(a.healthchecksPingKey !== undefined ? { pingKey: a.healthchecksPingKey } : {}),
      ...(a.ntfyToken !== undefined ? { ntfyToken: a.ntfyToken } : {}),
      ...(a.telegramToken !== undefined ? { telegramToken: a.telegramToken } : {}),
      ...(args.copy !== undefined && copyPassword !== undefined ? { copyPassword, copyKeyId: args.copy.accessKeyId, copySecret: args.copy.secretAccessKey } : {}),
    } as Record<"resticPassword" | "resticPreviousPassword" | "sftpPassword" | "readerKey" | "pushToken" | "walPushToken" | "pingKey" | "ntfyToken" | "telegramToken" | "copyPassword" | "copyKeyId" | "copySecret", pulumi.Input<string>>;
    const settings = this.keep(
      renderWithSecrets(`backups/${name}.env`, secrets, (s) =>
        this.repository.apply((repository) =>
          renderBackupEnv({
            name,
            repository,
            resticPassword: s.resticPassword,
            ...(s.resticPreviousPassword !== undefined ? { resticPreviousPassword: s.resticPreviousPassword } : {}),
            sftpPassword: s.sftpPassword,
            readerKey: s.readerKey,
            ...(args.dbContainer !== undefined ? { dbContainer: args.dbContainer } : {}),
            paths: args.paths,
            ...(args.vaultKeyPath !== undefined ? { vaultKeyPath: args.vaultKeyPath } : {}),
            retention: args.retention,
            kumaPushUrl: `${args.kumaPushBase}${s.pushToken}`,
            ...(args.walArchive !== undefined ? { wal: { ...args.walArchive, ...(s.walPushToken !== undefined ? { kumaPushUrl: `${args.kumaPushBase}${s.walPushToken}` } : {}) } } : {}),
            ...(a.healthchecksBase !== undefined && s.pingKey !== undefined
              ? {
                  hcUrl: healthcheckUrl(a.healthchecksBase, s.pingKey, slug("backup")),
                  drillHcUrl: healthcheckUrl(a.healthchecksBase, s.pingKey, slug("drill")),
                  ...(args.copy !== undefined ? { copyHcUrl: healthcheckUrl(a.healthchecksBase, s.pingKey, slug("copy")) } : {}),
                }
              : {}),
            ...(a.ntfyUrl !== undefined ? { ntfyUrl: a.ntfyUrl, ...(s.ntfyToken !== undefined ? { ntfyToken: s.ntfyToken } : {}) } : {}),
            ...(a.telegramChat !== undefined && s.telegramToken !== undefined ? { telegramChat: a.telegramChat, telegramToken: s.telegramToken } : {}),
            ...(args.copy !== undefined
              ? { copy: { repository: `${args.copy.repository.replace(/\/+$/, "")}/${name}`, password: s.copyPassword, accessKeyId: s.copyKeyId, secretAccessKey: s.copySecret, retention: args.copy.retention } }
              : {}),
          }),
        ),
      ),
    );

    if (!args.retired && args.connection !== undefined) {
      const enable = this.child("enable");
      this.enabled = new command.remote.Command(
        enable.name,
        {
          connection: args.connection,
          create: renderScript("worker/backup-enable.sh", { PROJECT: name, DRILL: args.dbContainer !== undefined ? 1 : 0 }),
          delete: renderScript("worker/backup-disable.sh", { PROJECT: name }),
          stdin: settings,
        },
        { ...enable.opts, dependsOn: args.after },
      );
    }

    this.registerOutputs({ job: name, repository: this.repository, retention: this.retention, retired: args.retired === true });
  }
}
