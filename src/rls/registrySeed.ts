import type { RegistryConfig } from "../config/registry";
import { fillTemplate } from "../render/templates";
import { sqlLiteral } from "../storage/bucketsSql";
import { tenantUuid } from "./tenants";

const byName = <T>(a: [string, T], b: [string, T]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

/**
 * What the seed reads: plans by name, and per base tenant only the fields the
 * stack file declares (in the database's column names), with its trial's
 * length resolved from the tenant or its plan. Sorted, so reordering the
 * stack file changes nothing.
 */
export function registrySeedDoc(r: RegistryConfig): object {
  const plans = Object.entries(r.plans)
    .sort(byName)
    .map(([id, p]) => ({ id, products: [...p.products].sort(), trial_hours: p.trialHours ?? null }));
  const tenants = [...r.tenants]
    .sort((a, b) => byName([a.slug, 0], [b.slug, 0]))
    .map((t) => {
      const trialHours = t.status === "trial" ? (t.trialHours ?? (t.plan !== undefined ? r.plans[t.plan]?.trialHours : undefined)) : undefined;
      const declared = {
        name: t.name,
        type: t.type,
        ...(t.status !== undefined ? { status: t.status } : {}),
        ...(t.plan !== undefined ? { plan: t.plan } : {}),
        ...(t.contactEmail !== undefined ? { contact_email: t.contactEmail } : {}),
        ...(t.primaryDomain !== undefined ? { primary_domain: t.primaryDomain } : {}),
        ...(trialHours !== undefined ? { trial_hours: trialHours } : {}),
      };
      // A new base tenant's id is its slug's, as the fleet's tenants' are (src/rls/tenants.ts).
      return { slug: t.slug, id: tenantUuid(t.slug), declared };
    });
  return { plans, tenants };
}

/** The psql script that seeds a registry project's plans and base tenants (templates/sql/tenant-registry/seed.sql). */
export function renderRegistrySeedSql(r: RegistryConfig): string {
  return fillTemplate("sql/tenant-registry/seed.sql", { declared: sqlLiteral(JSON.stringify(registrySeedDoc(r))) });
}
