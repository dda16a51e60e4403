import { describe, expect, it } from "vitest";
import { check, clone, stackDoc } from "../helpers/stacks";

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const prod = stackDoc("prod") as Doc;
const tenants = (c: Doc): Doc[] => c["supafleet:tenants"];
/** Where prod's project `name` sits, as an issue's path names it. */
function pathOf(name: string): string {
  for (const [i, t] of tenants(prod).entries()) {
    const j = (t.projects ?? []).findIndex((p: Doc) => p.name === name);
    if (j >= 0) return `tenants[${i}].projects[${j}]`;
  }
  throw new Error(`no project ${name}`);
}

/** prod with project `name`'s registry replaced, and its problems, paths relative to that project. */
function problems(name: string, registry: unknown, edit?: (project: Doc) => void): { path: string; message: string }[] {
  const c = clone(prod) as Doc;
  const project = tenants(c).flatMap((t) => t.projects ?? []).find((p: Doc) => p.name === name)!;
  project.registry = registry;
  edit?.(project);
  return check(c).issues.map((i) => ({ path: i.path.replace(pathOf(name), "project"), message: i.message }));
}

const plans = { trial: { products: ["chat"], trialHours: 24 }, pro: { products: ["chat", "erp"] } };

describe("a project's registry in the stack file", () => {
  it("takes prod's own registry (seed 002's base tenants), and a bare one", () => {
    expect(check(prod).issues).toEqual([]);
    expect(check(stackDoc("staging")).issues).toEqual([]);
    expect(problems("smarteros", {})).toEqual([]);
  });

  it("is only for a project with the tenant-registry pack", () => {
    expect(problems("ops", { plans })).toEqual([
      { path: "project.registry", message: "only a project with the tenant-registry schema pack has a registry: add tenant-registry to schemaPacks, or remove registry" },
    ]);
  });

  it("names each malformed field by its path", () => {
    const got = problems("smarteros", {
      plans: { Trial: { products: [] }, pro: { products: ["chat", "chat"], trialHours: 0 } },
      tenants: [{ slug: "X", name: "", type: "partner", status: "cancelled", contactEmail: "nobody", primaryDomain: "Example.ORG", extra: 1 }],
      extra: true,
    });
    expect(got.map((p) => p.path).sort()).toEqual([
      "project.registry.extra",
      "project.registry.plans.Trial",
      "project.registry.plans.pro.products",
      "project.registry.plans.pro.trialHours",
      "project.registry.tenants[0].contactEmail",
      "project.registry.tenants[0].extra",
      "project.registry.tenants[0].name",
      "project.registry.tenants[0].primaryDomain",
      "project.registry.tenants[0].slug",
      "project.registry.tenants[0].status",
      "project.registry.tenants[0].type",
    ]);
    expect(got.find((p) => p.path === "project.registry.plans.Trial")!.message).toContain("must be a plan name");
    expect(got.find((p) => p.path === "project.registry.plans.pro.products")!.message).toBe("lists a product twice; list each once");
  });

  it("refuses a slug twice, a fleet tenant's slug, an unknown plan, and a trial without an end", () => {
    const got = problems("smarteros", {
      plans,
      tenants: [
        { slug: "root", name: "Root", type: "infrastructure", plan: "pro" },
        { slug: "root", name: "Again", type: "customer" },
        { slug: "smarteros", name: "The project's own tenant", type: "customer" },
        { slug: "gold", name: "Gold", type: "customer", plan: "gold" },
        { slug: "forever", name: "Forever", type: "customer", status: "trial", plan: "pro" },
        { slug: "no-plan", name: "No plan", type: "customer", status: "trial" },
        { slug: "hours", name: "Hours", type: "customer", status: "active", trialHours: 5 },
        { slug: "demo", name: "Demo", type: "customer", status: "trial", plan: "trial" },
        { slug: "short", name: "Short", type: "customer", status: "trial", trialHours: 2 },
      ],
    });
    expect(got).toEqual([
      { path: "project.registry.tenants[1].slug", message: '"root" is already declared at registry.tenants[0]' },
      { path: "project.registry.tenants[2].slug", message: '"smarteros" is a fleet tenant of this project, which the fleet records in the registry already; give the base tenant another slug' },
      { path: "project.registry.tenants[3].plan", message: 'no plan "gold" in registry.plans (declared: trial, pro)' },
      { path: "project.registry.tenants[4].trialHours", message: "a trial needs an end: give trialHours, or a plan with trialHours (plan pro has none)" },
      { path: "project.registry.tenants[5].trialHours", message: "a trial needs an end: give trialHours, or a plan with trialHours" },
      { path: "project.registry.tenants[6].trialHours", message: "is for a trial tenant: set status: trial, or remove trialHours" },
    ]);
  });

  it("refuses a pooled tenant's slug in the pool's registry", () => {
    expect(problems("ops", { tenants: [{ slug: "baeckerei-koch", name: "B", type: "customer" }] }, (p) => (p.schemaPacks = ["msp-ops", "tenant-registry"]))).toEqual([
      { path: "project.registry.tenants[0].slug", message: '"baeckerei-koch" is a fleet tenant of this project, which the fleet records in the registry already; give the base tenant another slug' },
    ]);
  });
});
