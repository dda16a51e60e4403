import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { FleetComponent } from "../src/resources/component";
import { workerConnection, type SshPath } from "../src/resources/connections";
import { seedPayload, type BackupReader } from "../src/backup/seed";
import type { SchemaPack } from "../src/config/schema";
import type { ProjectPlan } from "../src/plan/types";
import { renderScript } from "../src/render/script";
import { containerName } from "../src/supabase/naming";

export interface ProjectSeedArgs {
  readonly project: ProjectPlan;
  /** The source job's read-only credential (this stack's, or another stack's through its outputs). */
  readonly reader: pulumi.Input<BackupReader>;
  readonly snapshot: string;
  /** A point-in-time restore to this moment, in place of the snapshot. */
  readonly time?: string;
  /** Where the source's files were backed up from, and where this project keeps the same files. */
  readonly sourcePaths: readonly string[];
  readonly paths: readonly string[];
  readonly vaultKeyPath: string;
  /** A copy from another environment: anonymised with these packs' hooks, without its Vault key. */
  readonly anonymise?: readonly SchemaPack[];
  readonly ssh: SshPath;
  /** The project runs (its stack deployed, its secrets written). */
  readonly after: pulumi.Input<pulumi.Resource>[];
}

/**
 * A new project whose data starts from another project's backup
 * (`restoreFrom`). Runs once, when the project is created: `restore.sh
 * --whole` reads the source's repository through its read-only credential, so
 * the source is never touched, and verifies what it restored. A copy from
 * another stack is anonymised and leaves the source's Vault key behind. Later
 * edits to `restoreFrom` restore nothing again.
 */
export class ProjectSeed extends FleetComponent {
  readonly done: command.remote.Command;

  constructor(args: ProjectSeedArgs, opts?: pulumi.ComponentResourceOptions) {
    const p = args.project;
    super("supafleet:index:ProjectSeed", `${p.name}-seed`, opts);
    const run = this.child("restore");
    this.done = new command.remote.Command(
      run.name,
      {
        connection: workerConnection(args.ssh, p.worker.address),
        create: renderScript("worker/project-seed.sh", { PROJECT: p.name }),
        update: `echo "project-seed(${p.name}): seeded when it was created; restoreFrom applies to a new project only"`,
        stdin: pulumi.secret(
          pulumi.output(args.reader).apply((reader) =>
            seedPayload({
              project: p.name,
              dbContainer: containerName(p.name, "db"),
              paths: args.paths,
              sourcePaths: args.sourcePaths,
              vaultKeyPath: args.vaultKeyPath,
              reader,
              snapshot: args.snapshot,
              ...(args.time !== undefined ? { time: args.time } : {}),
              ...(args.anonymise !== undefined ? { anonymise: args.anonymise } : {}),
            }),
          ),
        ),
      },
      { ...run.opts, dependsOn: args.after },
    );
    this.registerOutputs({ source: pulumi.output(args.reader).apply((r) => r.job), ...(args.time !== undefined ? { time: args.time } : { snapshot: args.snapshot }), anonymised: args.anonymise !== undefined });
  }
}
