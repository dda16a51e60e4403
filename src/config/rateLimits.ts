import { z } from "zod";

/**
 * The fleet's plans and what each allows: `supafleet:plans`, keyed by the plan names a tenant's
 * `plan` takes. Each project's gateway counts a tenant's requests per minute against its plan
 * (src/supabase/rateLimit.ts, docs/configuration.md "Plans and rate limits").
 */

/** Seed 002: 1,000 requests per minute per tenant, on every plan unless the stack file says otherwise. */
export const SEED_REQUESTS_PER_MINUTE = 1000;

/** The plan names a tenant's `plan` takes (TenantSchema). */
export const PLAN_NAMES = ["starter", "business", "enterprise"] as const;
export type PlanName = (typeof PLAN_NAMES)[number];

/**
 * Tenants a project serves that the stack file does not declare (sign-ups a registry made itself)
 * are held to this plan's limit, each on its own count.
 */
export const UNDECLARED_TENANT_PLAN: PlanName = "starter";

// A shared dict's counter is a double; past a million a minute a per-tenant limit no longer protects anything.
const MAX_REQUESTS_PER_MINUTE = 1_000_000;

const PlanSchema = z.strictObject({
  requestsPerMinute: z
    .number({ error: "must be a whole number of requests, such as 1000" })
    .int("must be a whole number")
    .min(1, "must be at least 1")
    .max(MAX_REQUESTS_PER_MINUTE, `must be at most ${MAX_REQUESTS_PER_MINUTE}`)
    .default(SEED_REQUESTS_PER_MINUTE),
});

const PLAN_DEFAULT = { requestsPerMinute: SEED_REQUESTS_PER_MINUTE } as const;
export const PLANS_DEFAULT = { starter: PLAN_DEFAULT, business: PLAN_DEFAULT, enterprise: PLAN_DEFAULT } as const;

/** Every plan is optional; one left out allows seed 002's 1,000 a minute. */
export const PlansSchema = z.strictObject(
  {
    starter: PlanSchema.default(PLAN_DEFAULT),
    business: PlanSchema.default(PLAN_DEFAULT),
    enterprise: PlanSchema.default(PLAN_DEFAULT),
  },
  { error: (i) => (i.code === "unrecognized_keys" ? `${i.keys.join(", ")}: no tenant can have such a plan; the plans are ${PLAN_NAMES.join(", ")}` : undefined) },
);

export type PlansConfig = z.infer<typeof PlansSchema>;
