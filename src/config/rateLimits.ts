import { z } from "zod";

/**
 * The fleet's plans and what each allows: `supafleet:plans`, keyed by the plan names a tenant's
 * `plan` takes. Each project's gateway counts a tenant's requests per minute against its plan
 * (src/supabase/rateLimit.ts, docs/configuration.md "Plans and rate limits").
 */

/** Seed 002: 1,000 requests per minute per tenant, on every plan unless the stack file says otherwise. */
export const SEED_REQUESTS_PER_MINUTE = 1000;

// Past a million a minute a tenant is not limited in any useful sense: a larger number is likelier a typo.
const MAX_REQUESTS_PER_MINUTE = 1_000_000;

const PlanSchema = z.strictObject({
  requestsPerMinute: z
    .number()
    .int()
    .min(1, "must be at least 1")
    .max(MAX_REQUESTS_PER_MINUTE, `must be at most ${MAX_REQUESTS_PER_MINUTE}`)
    .default(SEED_REQUESTS_PER_MINUTE),
});

const PLAN_DEFAULT = { requestsPerMinute: SEED_REQUESTS_PER_MINUTE } as const;
export const PLANS_DEFAULT = { starter: PLAN_DEFAULT, business: PLAN_DEFAULT, enterprise: PLAN_DEFAULT } as const;

/** The plan names a tenant's `plan` takes (TenantSchema); each is optional, and one left out allows seed 002's 1,000 a minute. */
export const PlansSchema = z.strictObject({
  starter: PlanSchema.default(PLAN_DEFAULT),
  business: PlanSchema.default(PLAN_DEFAULT),
  enterprise: PlanSchema.default(PLAN_DEFAULT),
});

export type PlansConfig = z.infer<typeof PlansSchema>;
