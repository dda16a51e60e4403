import type * as pulumi from "@pulumi/pulumi";
import { FleetComponent } from "../src/resources/component";
import type { SshPath } from "../src/resources/connections";
import { projectSqlCommand } from "../src/resources/projectSql";
import type { ProjectPlan } from "../src/plan/types";
import { renderPlain } from "../src/render/artifact";
import { checksum } from "../src/rls/bundle";
import { renderBucketsSql } from "../src/storage/bucketsSql";

export interface ProjectBucketsArgs {
  readonly project: ProjectPlan;
  readonly ssh: SshPath;
  /** The project's database and Storage run (Storage has made storage.buckets), and its seed, if any, is in. */
  readonly after: pulumi.Input<pulumi.Resource>[];
}

/**
 * One project's declared Storage buckets, applied to its database by psql
 * over SSH through the master, as RlsPolicySet applies migrations. The
 * command re-runs only when this project's bucket SQL changes; the SQL
 * itself changes nothing that is already as declared.
 */
export class ProjectBuckets extends FleetComponent {
  readonly sqlChecksum: string;

  /** Named `<project>-buckets`, a child of its SupabaseProject (the program passes the parent). */
  constructor(args: ProjectBucketsArgs, opts?: pulumi.ComponentResourceOptions) {
    const p = args.project;
    super("supafleet:index:ProjectBuckets", `${p.name}-buckets`, opts);
    const sql = renderBucketsSql(p.buckets);
    this.sqlChecksum = checksum(sql);
    this.keep(renderPlain(`projects/${p.name}/buckets.sql`, sql));

    projectSqlCommand(this.child("apply"), p, args.ssh, sql, args.after);

    this.registerOutputs({ buckets: p.buckets.map((b) => b.name), sqlChecksum: this.sqlChecksum });
  }
}
