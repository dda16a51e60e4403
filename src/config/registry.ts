import { z } from "zod";
import type { ConfigIssue } from "./issues";

/**
 * A registry project's plans and base tenants (`projects[].registry`), for a
 * project with the tenant-registry pack. The values must pass that pack's
 * own CHECKs (src/rls/packs/tenantRegistry.ts), so the seed never fails on a
 * row the stack file let through.
 */

const planName = z.string().regex(/^[a-z][a-z0-9-]{0,40}$/, "must be a plan name: a lowercase letter, then lowercase letters, digits and hyphens (at most 41)");
const product = z.string().regex(/^[a-z][a-z0-9_-]{0,40}$/, "must be a product code such as chat, erp or automation (lowercase letters, digits, _ and -)");
/** At most a year: a longer trial is a plan. */
const trialHours = z.number().int("must be a whole number of hours").min(1, "must be at least 1 hour").max(8784, "must be at most 8784 hours (a year); a longer trial is a plan");

export const RegistryPlanSchema = z.strictObject({
  /** Products a tenant on this plan has active (tenant_products). */
  products: z.array(product).refine((p) => new Set(p).size === p.length, { error: "lists a product twice; list each once" }).default([]),
  /** A trial of this plan lasts so long; a sign-up may ask only for a plan that has one. */
  trialHours: trialHours.optional(),
});

export const RegistryTenantSchema = z.strictObject({
  slug: z.string().regex(/^[a-z][a-z0-9-]{1,40}$/, "must be a lowercase letter, then 1 to 40 lowercase letters, digits and hyphens (the registry's slug check)"),
  name: z.string().trim().min(1, "must not be empty").max(200, "must be at most 200 characters"),
  type: z.enum(["infrastructure", "customer"], { error: () => "must be infrastructure or customer" }),
  status: z.enum(["trial", "active"], { error: () => "must be trial or active" }).optional(),
  plan: planName.optional(),
  contactEmail: z.string().regex(/^[^@\s]+@[^@\s]+$/, "must be an email address").optional(),
  primaryDomain: z.string().regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, "must be a lowercase domain name such as example.org").optional(),
  /** This tenant's trial length, over its plan's. */
  trialHours: trialHours.optional(),
});

export const RegistrySchema = z.strictObject({
  /** The registry's plans, by name; `trial` is the one a sign-up gets unless it asks for another trial plan. */
  plans: z
    .record(z.string(), RegistryPlanSchema)
    // Checked here rather than as the record's key type, whose message zod replaces with its own.
    .superRefine((plans, ctx) => {
      for (const name of Object.keys(plans)) {
        const bad = planName.safeParse(name).error?.issues[0];
        if (bad !== undefined) ctx.addIssue({ code: "custom", path: [name], message: bad.message });
      }
    })
    .default({}),
  /** Base tenants (seed 002's root and demo tenants), seeded by slug. */
  tenants: z.array(RegistryTenantSchema).default([]),
});

export type RegistryConfig = z.infer<typeof RegistrySchema>;
export type RegistryTenantConfig = z.infer<typeof RegistryTenantSchema>;

/** What the project around a registry says it may hold: its packs, and the fleet's tenants already in its tenants table. */
interface RegistryHost {
  readonly schemaPacks: readonly string[];
  readonly registry?: RegistryConfig | undefined;
}

/** What one registry cannot say by itself; `fleetTenants` are the slugs the fleet seeds into this project's registry already. */
export function checkRegistry(project: RegistryHost, path: string, fleetTenants: readonly string[]): ConfigIssue[] {
  const r = project.registry;
  if (r === undefined) return [];
  const at = `${path}.registry`;
  if (!project.schemaPacks.includes("tenant-registry")) {
    return [{ path: at, message: "only a project with the tenant-registry schema pack has a registry: add tenant-registry to schemaPacks, or remove registry" }];
  }
  const issues: ConfigIssue[] = [];
  const first = new Map<string, number>();
  r.tenants.forEach((t, i) => {
    const p = `${at}.tenants[${i}]`;
    const earlier = first.get(t.slug);
    if (earlier !== undefined) issues.push({ path: `${p}.slug`, message: `"${t.slug}" is already declared at registry.tenants[${earlier}]` });
    else first.set(t.slug, i);
    if (fleetTenants.includes(t.slug)) issues.push({ path: `${p}.slug`, message: `"${t.slug}" is a fleet tenant of this project, which the fleet records in the registry already; give the base tenant another slug` });
    const plan = t.plan !== undefined ? r.plans[t.plan] : undefined;
    if (t.plan !== undefined && plan === undefined) {
      const known = Object.keys(r.plans);
      issues.push({ path: `${p}.plan`, message: `no plan "${t.plan}" in registry.plans (${known.length > 0 ? `declared: ${known.join(", ")}` : "none declared"})` });
    }
    if (t.trialHours !== undefined && t.status !== "trial") issues.push({ path: `${p}.trialHours`, message: "is for a trial tenant: set status: trial, or remove trialHours" });
    if (t.status === "trial" && t.trialHours === undefined && t.plan !== undefined && plan !== undefined && plan.trialHours === undefined) {
      issues.push({ path: `${p}.trialHours`, message: `a trial needs an end: give trialHours, or a plan with trialHours (plan ${t.plan} has none)` });
    }
    if (t.status === "trial" && t.trialHours === undefined && t.plan === undefined) {
      issues.push({ path: `${p}.trialHours`, message: "a trial needs an end: give trialHours, or a plan with trialHours" });
    }
  });
  return issues;
}

interface FleetTenant {
  readonly slug: string;
  readonly pool?: string | undefined;
  readonly projects: readonly (RegistryHost & { readonly name: string })[];
}

/** Every project's registry, against the fleet's tenants it records already (its own tenant and those pooled in it). */
export function checkRegistries(tenants: readonly FleetTenant[]): ConfigIssue[] {
  return tenants.flatMap((tenant, i) =>
    tenant.projects.flatMap((project, j) => {
      const pooled = tenants.filter((t) => t.pool === project.name).map((t) => t.slug);
      return checkRegistry(project, `tenants[${i}].projects[${j}]`, [tenant.slug, ...pooled]);
    }),
  );
}
