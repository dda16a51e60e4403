import type { PlansConfig } from "../config/rateLimits";
import type { TenantConfig } from "../config/schema";
import { fillTemplate } from "../render/templates";
import { tenantUuid } from "../rls/tenants";

/**
 * Per-tenant rate limits at a project's gateway: a Kong pre-function
 * (templates/supabase/kong/rate-limit.lua) counts each tenant's requests in a
 * fixed one-minute window of a shared dict, and answers 429 with Retry-After
 * past its plan's limit. The tenant is the JWT's verified `tenant_id` claim,
 * else the project's owner, whose API keys the request carries; the limit is the
 * verified `tenant_plan` claim's (the token hook's, from supafleet.tenants).
 * The tenants are not listed, only their plans: adding a tenant on a plan the
 * project already uses leaves kong.yml, and so the gateway, as it is.
 */

/** The window the limits are counted in: plans are written per minute. */
export const RATE_LIMIT_WINDOW_SECONDS = 60;

/**
 * The shared dict that holds the counts, and its size: 1 MiB holds several thousand counts, and a tenant has
 * at most two alive (this minute's, and the last one's until it expires).
 */
export const RATE_LIMIT_DICT = "supafleet_rate_limits";
export const RATE_LIMIT_DICT_SIZE = "1m";

/** What the rule may require inside Kong's sandbox (KONG_UNTRUSTED_LUA_SANDBOX_REQUIRES). */
export const RATE_LIMIT_REQUIRES = ["cjson.safe", "resty.openssl.hmac", "ngx.base64"] as const;

/** One project's limits. */
export interface ProjectRateLimits {
  /** The project's owner (its tenant id, src/rls/tenants.ts): requests without a verified tenant claim count against it. */
  readonly owner: string;
  /**
   * Requests per minute of each plan the project's declared tenants (its owner and its pooled tenants) are on,
   * and no other, so a plan's change reaches only the projects its tenants own or share.
   */
  readonly plans: Readonly<Record<string, number>>;
  /**
   * Requests per minute of everything else, its owner's plan: the owner's own requests, and a token with no
   * plan or one not listed (a tenant the project made itself, a registry's sign-up, each counted on its own).
   */
  readonly fallback: number;
}

/** A tenant as the limits need it: its slug (its id) and its plan. */
type RatedTenant = Pick<TenantConfig, "slug" | "plan">;

export function projectRateLimits(plans: PlansConfig, owner: RatedTenant, pooled: readonly RatedTenant[]): ProjectRateLimits {
  // Sorted, so the order tenants are declared in never changes kong.yml.
  const used = [...new Set([owner, ...pooled].map((t) => t.plan))].sort();
  return {
    owner: tenantUuid(owner.slug),
    plans: Object.fromEntries(used.map((plan) => [plan, plans[plan].requestsPerMinute])),
    fallback: plans[owner.plan].requestsPerMinute,
  };
}

/** A Lua long string holding `text` as it is, at a level `text` cannot close. */
function luaLongString(text: string): string {
  let eq = "";
  while (text.includes(`]${eq}]`)) eq += "=";
  return `[${eq}[${text}]${eq}]`;
}

/** The pre-function's Lua, with the project's settings; the JWT secret makes it a secret, like the rest of kong.yml. */
export function rateLimitChunk(limits: ProjectRateLimits, jwtSecret: string): string {
  const settings = {
    window_seconds: RATE_LIMIT_WINDOW_SECONDS,
    dict: RATE_LIMIT_DICT,
    jwt_secret: jwtSecret,
    owner: limits.owner,
    plans: limits.plans,
    fallback: limits.fallback,
  };
  return fillTemplate("supabase/kong/rate-limit.lua", { settings: luaLongString(JSON.stringify(settings)) });
}
