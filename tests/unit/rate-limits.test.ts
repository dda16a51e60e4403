import { describe, expect, it } from "vitest";
import { SEED_REQUESTS_PER_MINUTE } from "../../src/config/rateLimits";
import type { FleetConfig } from "../../src/config/schema";
import { planFleet } from "../../src/plan/planFleet";
import { tenantUuid } from "../../src/rls/tenants";
import { check, clone, stackDoc } from "../helpers/stacks";

type Doc = Record<string, unknown>;

function prodWith(plans: unknown): Doc {
  const c = clone(stackDoc("prod"));
  c["supafleet:plans"] = plans;
  return c;
}

const limitsOf = (doc: Doc): Map<string, unknown> => {
  const { config, issues } = check(doc, "prod");
  expect(issues).toEqual([]);
  return new Map(planFleet("prod", config as FleetConfig).projects.map((p) => [p.name, p.rateLimits]));
};

describe("supafleet:plans", () => {
  it("left out, gives every plan seed 002's 1,000 requests a minute, in every project its tenants own or share", () => {
    const limits = limitsOf(stackDoc("prod"));
    const every = SEED_REQUESTS_PER_MINUTE;
    expect(limits.get("ops")).toEqual({ owner: tenantUuid("techhilfe"), plans: { enterprise: every, starter: every }, fallback: every });
    expect(limits.get("surgir")).toEqual({ owner: tenantUuid("surgir"), plans: { enterprise: every }, fallback: every });
  });

  it("lists the limits of the plans the project's tenants are on and no others, and gives everything else its owner's", () => {
    const limits = limitsOf(prodWith({ starter: { requestsPerMinute: 300 }, enterprise: { requestsPerMinute: 20000 } }));
    // ops: techhilfe (enterprise) and its pooled tenants (starter); no tenant there is on business.
    expect(limits.get("ops")).toEqual({ owner: tenantUuid("techhilfe"), plans: { enterprise: 20000, starter: 300 }, fallback: 20000 });
    // smarteros is on business, which the stack file leaves at the default.
    expect(limits.get("smarteros")).toEqual({ owner: tenantUuid("smarteros"), plans: { business: 1000 }, fallback: 1000 });
  });

  it("names no tenant, so a pooled tenant on a plan its pool already uses changes nothing, and one on a new plan adds that plan", () => {
    const withPooled = (plan: string): unknown => {
      const doc = clone(stackDoc("prod"));
      (doc["supafleet:tenants"] as Doc[]).push({ slug: "zahnarzt-lang", name: "Zahnarztpraxis Lang", contact: { name: "L", email: "l@zahn.de" }, plan, isolation: "pooled", pool: "ops" });
      return limitsOf(doc).get("ops");
    };
    const before = limitsOf(stackDoc("prod")).get("ops");
    expect(withPooled("starter")).toEqual(before);
    expect(withPooled("business")).toEqual({ owner: tenantUuid("techhilfe"), plans: { business: 1000, enterprise: 1000, starter: 1000 }, fallback: 1000 });
  });

  it("names each problem by its path in the stack file", () => {
    const problems = (plans: unknown): { path: string; message: string }[] => check(prodWith(plans), "prod").issues.map((i) => ({ path: i.path, message: i.message }));
    expect(problems({ gold: { requestsPerMinute: 5 } })).toEqual([{ path: "plans.gold", message: "is not a known setting (check its spelling and indentation)" }]);
    expect(problems({ starter: { requestsPerMinute: 0 }, business: { requestsPerMinute: 2.5 } })).toEqual([
      { path: "plans.starter.requestsPerMinute", message: "must be at least 1" },
      { path: "plans.business.requestsPerMinute", message: "must be an int, not number 2.5" },
    ]);
    expect(problems({ enterprise: { requestsPerMinute: "lots" } })).toEqual([{ path: "plans.enterprise.requestsPerMinute", message: 'must be a number, not string "lots"' }]);
    expect(problems({ starter: { requestsPerMinute: 10, burst: 20 } })).toEqual([{ path: "plans.starter.burst", message: "is not a known setting (check its spelling and indentation)" }]);
  });
});
