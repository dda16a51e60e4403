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
  it("left out, gives every tenant seed 002's 1,000 requests a minute, in every project it owns or shares", () => {
    const limits = limitsOf(stackDoc("prod"));
    const id = tenantUuid;
    const every = SEED_REQUESTS_PER_MINUTE;
    expect(limits.get("ops")).toEqual({ owner: id("techhilfe"), tenants: { [id("techhilfe")]: every, [id("baeckerei-koch")]: every, [id("kanzlei-weber")]: every }, undeclared: every });
    expect(limits.get("surgir")).toEqual({ owner: id("surgir"), tenants: { [id("surgir")]: every }, undeclared: every });
  });

  it("gives each tenant its own plan's limit, and tenants a project makes itself its owner's", () => {
    const limits = limitsOf(prodWith({ starter: { requestsPerMinute: 300 }, enterprise: { requestsPerMinute: 20000 } }));
    expect(limits.get("ops")).toEqual({
      owner: tenantUuid("techhilfe"),
      tenants: { [tenantUuid("techhilfe")]: 20000, [tenantUuid("baeckerei-koch")]: 300, [tenantUuid("kanzlei-weber")]: 300 },
      undeclared: 20000,
    });
    // smarteros is on business, which the stack file leaves at the default.
    expect(limits.get("smarteros")).toEqual({ owner: tenantUuid("smarteros"), tenants: { [tenantUuid("smarteros")]: 1000 }, undeclared: 1000 });
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
