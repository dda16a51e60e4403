import type * as pulumi from "@pulumi/pulumi";
import type { RegistryConfig } from "../src/config/registry";
import { FleetComponent } from "../src/resources/component";
import type { SshPath } from "../src/resources/connections";
import { projectSqlCommand } from "../src/resources/projectSql";
import type { ProjectPlan } from "../src/plan/types";
import { renderPlain } from "../src/render/artifact";
import { checksum } from "../src/rls/bundle";
import { renderRegistrySeedSql } from "../src/rls/registrySeed";

export interface ProjectRegistryArgs {
  readonly project: ProjectPlan & { readonly registry: RegistryConfig };
  readonly ssh: SshPath;
  /** The project's tenant-registry migrations have run (its RlsPolicySet). */
  readonly after: pulumi.Input<pulumi.Resource>[];
}

/**
 * One registry project's plans and base tenants from the stack file, applied
 * to its database by psql over SSH through the master, as ProjectBuckets
 * applies buckets. The command re-runs only when this project's registry
 * changes; the SQL writes only what the stack file changed since its last run.
 */
export class ProjectRegistry extends FleetComponent {
  readonly sqlChecksum: string;

  /** Named `<project>-registry`, a child of its SupabaseProject (the program passes the parent). */
  constructor(args: ProjectRegistryArgs, opts?: pulumi.ComponentResourceOptions) {
    const p = args.project;
    super("supafleet:index:ProjectRegistry", `${p.name}-registry`, opts);
    const sql = renderRegistrySeedSql(p.registry);
    this.sqlChecksum = checksum(sql);
    this.keep(renderPlain(`projects/${p.name}/registry-seed.sql`, sql));

    projectSqlCommand(this.child("seed"), p, args.ssh, sql, args.after);

    this.registerOutputs({ plans: Object.keys(p.registry.plans).sort(), tenants: p.registry.tenants.map((t) => t.slug).sort(), sqlChecksum: this.sqlChecksum });
  }
}
