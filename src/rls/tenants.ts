import { createHash } from "node:crypto";
import type { TenantConfig } from "../config/schema";
import { sqlLiteral } from "./generate";

/** What a project's database records of a tenant. */
export type TenantRow = Pick<TenantConfig, "slug" | "name" | "isolation" | "plan">;

/**
 * A tenant's id: a name-based (version 5 style) UUID of its slug, so it is the
 * same in every project and every run, and needs no lookup to be known.
 */
export function tenantUuid(slug: string): string {
  const h = createHash("sha1").update(`supafleet:tenant:${slug}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

const q = sqlLiteral;

type TenantColumn = "isolation" | "plan";

/** Inserts or renames the tenants in `table` by id, with more columns of theirs. */
function upsertTenantsSql(table: string, columns: readonly TenantColumn[], tenants: readonly TenantRow[]): string[] {
  const rows = tenants.map((t) => `  (${[q(tenantUuid(t.slug)), q(t.slug), q(t.name), ...columns.map((c) => q(t[c]))].join(", ")})`);
  const updates = ["slug", "name", ...columns].map((c) => `${c} = excluded.${c}`);
  return [
    `insert into ${table} (id, slug, name, ${columns.join(", ")}) values`,
    rows.join(",\n"),
    `on conflict (id) do update set ${updates.join(", ")}, updated_at = now();`,
  ];
}

/** Upserts the project's tenants (its owner and the pooled ones) into supafleet.tenants, with the plan the token hook puts in their JWTs. */
export function tenantsSeedSql(tenants: readonly TenantRow[]): string {
  return [
    "-- supafleet: the tenants of this project (generated from the stack file).",
    ...upsertTenantsSql("supafleet.tenants", ["isolation", "plan"], tenants),
    `delete from supafleet.tenants where id not in (${tenants.map((t) => q(tenantUuid(t.slug))).join(", ")});`,
    "",
  ].join("\n");
}

/**
 * The fleet's tenants of this project in the tenant-registry pack's
 * public.tenants, with the same ids. Rows the application made itself (its
 * own customers, trials) are left alone: only these are inserted or renamed.
 */
export function registryTenantsSeedSql(tenants: readonly TenantRow[]): string {
  return [
    "-- supafleet: the fleet's tenants of this project in the registry (generated from the stack file).",
    ...upsertTenantsSql("public.tenants", ["plan"], tenants),
    "",
  ].join("\n");
}
