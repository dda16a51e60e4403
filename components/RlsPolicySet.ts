import * as pulumi from "@pulumi/pulumi";
import { FleetComponent } from "../src/resources/component";
import type { SshPath } from "../src/resources/connections";
import { projectSqlCommand } from "../src/resources/projectSql";
import type { ProjectPlan } from "../src/plan/types";
import { renderPlain } from "../src/render/artifact";
import { checksum, renderMigrationBundle } from "../src/rls/bundle";
import { projectMigrations } from "../src/rls/migrations";

export interface RlsPolicySetArgs {
  readonly project: ProjectPlan;
  readonly ssh: SshPath;
  /** The project's database must be running before migrations apply. */
  readonly after: pulumi.Input<pulumi.Resource>[];
}

/**
 * The tenant data model of one project: its schema packs rendered as ordered,
 * idempotent migrations and applied to the project's database over SSH
 * through the master. The command re-runs only when the bundle changes, and
 * the ledger in the database skips what is already applied.
 */
export class RlsPolicySet extends FleetComponent {
  readonly bundleChecksum: string;
  readonly migrationIds: string[];

  /** Named `<project>-rls`, a child of its SupabaseProject (the program passes the parent). */
  constructor(args: RlsPolicySetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("supafleet:index:RlsPolicySet", `${args.project.name}-rls`, opts);
    const p = args.project;
    // The project's own tenant and every pooled tenant whose rows it keeps.
    const migrations = projectMigrations(p.schemaPacks, [p.tenant, ...p.pooledTenants], p.realtimeTables);
    const bundle = renderMigrationBundle(migrations);
    this.bundleChecksum = checksum(bundle);
    this.migrationIds = migrations.map((m) => m.id);
    this.keep(renderPlain(`projects/${p.name}/migrations.sql`, bundle));

    projectSqlCommand(this.child("migrations"), p, args.ssh, bundle, args.after);

    this.registerOutputs({ bundleChecksum: this.bundleChecksum, migrationIds: this.migrationIds });
  }
}
