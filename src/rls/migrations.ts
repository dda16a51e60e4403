import type { SchemaPack } from "../config/schema";
import { template } from "../render/templates";
import type { Migration } from "./bundle";
import { packMigrations } from "./generate";
import type { Pack } from "./model";
import { mspOpsPack } from "./packs/mspOps";
import { tenantRegistryPack } from "./packs/tenantRegistry";
import { withRealtimeChoice } from "./realtimeTables";
import { registryTenantsSeedSql, tenantsSeedSql, type TenantRow } from "./tenants";

export const PACKS: Readonly<Record<SchemaPack, Pack>> = {
  "msp-ops": mspOpsPack,
  "tenant-registry": tenantRegistryPack,
};

/** The migrations every project with schema packs receives first. */
export function coreMigrations(): Migration[] {
  return [{ id: "0001_supafleet_core", sql: template("sql/core/0001_supafleet_core.sql") }];
}

/**
 * A project's migrations, in order: the core (tenant helper, auditor role,
 * token hook), its tenants, then each schema pack, its tables published to
 * Realtime as the project chose (`realtimeTables`) or else as the pack does.
 */
export function projectMigrations(packs: readonly SchemaPack[], tenants: readonly TenantRow[], realtimeTables?: readonly string[]): Migration[] {
  return [
    ...coreMigrations(),
    ...(tenants.length > 0 ? [{ id: "0002_supafleet_tenants", sql: tenantsSeedSql(tenants) }] : []),
    ...[...packs].sort((a, b) => PACKS[a].order - PACKS[b].order).flatMap((p) => packMigrations(withRealtimeChoice(PACKS[p], realtimeTables))),
    // The registry's tenants table holds the fleet's tenants too, once its tables exist.
    ...(packs.includes("tenant-registry") && tenants.length > 0 ? [{ id: "2090_tenant_registry_tenants", sql: registryTenantsSeedSql(tenants) }] : []),
  ];
}
