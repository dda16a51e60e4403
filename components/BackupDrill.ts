import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { FleetComponent } from "../src/resources/component";
import { renderBackupEnv } from "../src/backup/settings";
import type { BackupReader } from "../src/backup/seed";
import type { RetentionConfig } from "../src/config/schema";
import type { types } from "@pulumi/command";
import { renderScript } from "../src/render/script";
import { fillTemplate, template } from "../src/render/templates";

/** Another stack's job, as that stack's outputs describe it: its read-only credential and database image. */
export type DrilledJob = BackupReader & { readonly dbImage?: string };

export interface BackupDrillArgs {
  /** The stack whose backups are drilled (prod), and this one's (staging). */
  readonly stack: string;
  readonly env: string;
  /** The other stack's backupReaders output: one job each. */
  readonly jobs: pulumi.Input<Record<string, DrilledJob>>;
  /** The database image a job without one of its own is restored into. */
  readonly defaultImage: string;
  /** The staging worker the drills run on, over SSH. */
  readonly connection: pulumi.Input<types.input.remote.ConnectionArgs>;
  readonly after: pulumi.Input<pulumi.Resource>[];
  /** This stack's alerting, as drill.sh reads it. */
  readonly alerting: { readonly drillHcUrl?: (job: string) => pulumi.Input<string>; readonly ntfyUrl?: string; readonly ntfyToken?: pulumi.Input<string>; readonly telegramChat?: string; readonly telegramToken?: pulumi.Input<string> };
  readonly drillDay: number;
  readonly retention: RetentionConfig;
}

/**
 * The monthly restore drill of another stack's backups, on one of this stack's
 * workers (staging drills prod, as the user's plan asks). Each job's latest
 * snapshot is restored into a throwaway database container, through the job's
 * read-only credential, compared with the figures recorded at backup time,
 * reported to this stack's health checks and alerts, and thrown away. The set
 * of jobs is the other stack's output, so one command installs them all.
 */
export class BackupDrill extends FleetComponent {
  constructor(args: BackupDrillArgs, opts?: pulumi.ComponentResourceOptions) {
    super("supafleet:index:BackupDrill", `drill-${args.stack}`, opts);
    const a = args.alerting;
    const payload = pulumi.secret(
      pulumi.output(args.jobs).apply((jobs) => {
        if (jobs === undefined || jobs === null) {
          void pulumi.log.warn(`stack ${args.stack} exports no backupReaders (it needs a pulumi up with supafleet 0.2 or later): no drill of it is installed yet`, this);
        }
        return pulumi
          .all(
            Object.entries(jobs ?? {}).map(([job, j]) =>
              pulumi
                .all([a.drillHcUrl?.(job) ?? "", pulumi.output(a.ntfyToken ?? ""), pulumi.output(a.telegramToken ?? "")])
                .apply(([hc, ntfyToken, telegramToken]) => [
                  `${args.stack}-${job}`,
                  renderBackupEnv({
                    name: `${args.stack}-${job}`,
                    repository: j.repository,
                    resticPassword: j.resticPassword,
                    sftpPassword: j.sftpPassword,
                    readOnly: true,
                    snapshotHost: job,
                    drillImage: j.dbImage ?? args.defaultImage,
                    paths: [],
                    retention: args.retention,
                    ...(hc !== "" ? { drillHcUrl: hc } : {}),
                    ...(a.ntfyUrl !== undefined ? { ntfyUrl: a.ntfyUrl, ...(ntfyToken !== "" ? { ntfyToken } : {}) } : {}),
                    ...(a.telegramChat !== undefined && telegramToken !== "" ? { telegramChat: a.telegramChat, telegramToken } : {}),
                  }),
                ]),
            ),
          )
          .apply((entries) =>
            JSON.stringify({
              stack: args.stack,
              jobs: Object.fromEntries(entries),
              unit: template("worker/systemd/supafleet-remote-drill@.service"),
              timer: fillTemplate("worker/systemd/supafleet-remote-drill@.timer", { day: String(args.drillDay).padStart(2, "0") }),
            }),
          );
      }),
    );
    const install = this.child("install");
    new command.remote.Command(install.name, { connection: args.connection, create: renderScript("worker/remote-drill-install.sh"), stdin: payload }, { ...install.opts, dependsOn: args.after });
    this.registerOutputs({ stack: args.stack });
  }
}
