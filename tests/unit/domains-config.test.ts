import { describe, expect, it } from "vitest";
import { clone, check, stackDoc } from "../helpers/stacks";
import type { FleetConfig } from "../../src/config/schema";
import { planFleet } from "../../src/plan/planFleet";

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** prod with `domains` set on some projects: [tenant index, project index, domains]. */
function prodWith(...sets: [number, number, string[]][]): Doc {
  const c = clone(stackDoc("prod")) as Doc;
  for (const [t, p, domains] of sets) c["supafleet:tenants"][t].projects[p].domains = domains;
  return c;
}
const issuesOf = (...sets: [number, number, string[]][]) => check(prodWith(...sets)).issues;
const SMARTEROS = "tenants[3].projects[0]";

describe("custom domains that are accepted", () => {
  it("one label under the fleet's domain, and any name in a client's zone; the plan tells them apart", () => {
    const c = prodWith([3, 0, ["app-smarteros.techhilfepro.de", "api.smarteros.cl", "smarteros.cl"]], [4, 0, ["api.praxis-mueller.de"]]);
    const { issues, config } = check(c);
    expect(issues).toEqual([]);
    const plan = planFleet("prod", config as FleetConfig);
    expect(plan.projects.find((p) => p.name === "smarteros")!.customDomains).toEqual([
      { hostname: "app-smarteros.techhilfepro.de", kind: "zone" },
      { hostname: "api.smarteros.cl", kind: "saas" },
      { hostname: "smarteros.cl", kind: "saas" },
    ]);
    expect(plan.edge.customHostnames).toEqual([
      { hostname: "api.smarteros.cl", project: "smarteros" },
      { hostname: "smarteros.cl", project: "smarteros" },
      { hostname: "api.praxis-mueller.de", project: "praxis" },
    ]);
    expect(plan.edge.fallbackOrigin).toBe("custom-domains.techhilfepro.de");
  });

  it("no domains: no custom hostnames and no fallback origin", () => {
    const plan = planFleet("prod", check(stackDoc("prod")).config as FleetConfig);
    expect(plan.edge.customHostnames).toEqual([]);
    expect(plan.edge.fallbackOrigin).toBeUndefined();
  });
});

describe("custom domains that are refused, each with its path", () => {
  it("a domain listed twice in one project", () => {
    expect(issuesOf([3, 0, ["api.smarteros.cl", "app.smarteros.cl", "api.smarteros.cl"]])).toEqual([
      { path: `${SMARTEROS}.domains[2]`, message: '"api.smarteros.cl" is listed twice (first at domains[0])' },
    ]);
  });

  it("a domain another project uses, of the same tenant or another", () => {
    expect(issuesOf([3, 0, ["api.smarteros.cl"]], [3, 1, ["api.smarteros.cl"]], [4, 0, ["api.smarteros.cl"]])).toEqual([
      { path: "tenants[3].projects[1].domains[0]", message: `"api.smarteros.cl" is already a custom domain of ${SMARTEROS}; a hostname serves one project` },
      { path: "tenants[4].projects[0].domains[0]", message: `"api.smarteros.cl" is already a custom domain of ${SMARTEROS}; a hostname serves one project` },
    ]);
  });

  it.each([
    ["techhilfepro.de", `"techhilfepro.de" is the fleet's own domain (domain)`],
    ["praxis.techhilfepro.de", `"praxis.techhilfepro.de" is already the API hostname of tenants[4].projects[0]`],
    ["smarteros.techhilfepro.de", `"smarteros.techhilfepro.de" is already the API hostname of ${SMARTEROS}`],
    ["ops-studio.techhilfepro.de", `"ops-studio.techhilfepro.de" is already the Studio hostname of tenants[0].projects[0]`],
    ["n8n.techhilfepro.de", `"n8n.techhilfepro.de" is already the master's n8n hostname (hostnames.n8n)`],
    ["status.techhilfepro.de", `"status.techhilfepro.de" is already the master's status hostname (hostnames.status)`],
    // A tenant without a status page still keeps its name: turning the page on must not take a project's domain.
    ["status-surgir.techhilfepro.de", `"status-surgir.techhilfepro.de" is already the status page hostname of tenants[5]`],
    ["mesh.techhilfepro.de", `"mesh.techhilfepro.de" is already Tactical RMM's mesh hostname (rmm.hostnames.mesh)`],
    ["custom-domains.techhilfepro.de", `"custom-domains.techhilfepro.de" is already the fallback origin that clients' own domains point at`],
  ])("%s, a hostname the fleet itself uses", (domain, message) => {
    expect(issuesOf([3, 0, [domain]])).toEqual([{ path: `${SMARTEROS}.domains[0]`, message }]);
  });

  it("a domain two or more labels under the fleet's, which Universal SSL does not cover", () => {
    expect(issuesOf([3, 0, ["api.smarteros.techhilfepro.de"]])).toEqual([
      {
        path: `${SMARTEROS}.domains[0]`,
        message: '"api.smarteros.techhilfepro.de" is 2 levels under techhilfepro.de; Universal SSL covers one level only: use a single label, such as api-smarteros.techhilfepro.de',
      },
    ]);
  });

  it("a reserved label, or one a tenant's status page would use, under the fleet's domain", () => {
    const issues = issuesOf([3, 0, ["www.techhilfepro.de", "status-new.techhilfepro.de"]]);
    expect(issues.map((i) => i.path)).toEqual([`${SMARTEROS}.domains[0]`, `${SMARTEROS}.domains[1]`]);
    expect(issues[0]!.message).toMatch(/^"www" under techhilfepro.de is reserved for fleet services; reserved: studio, n8n, .*custom-domains$/);
    expect(issues[1]!.message).toBe('"status-new" under techhilfepro.de starts with "status-", which tenants\' status pages use');
  });

  it("a client's domain whose first label the policy pack keeps behind Access", () => {
    expect(issuesOf([3, 0, ["app-studio.smarteros.cl", "n8n.smarteros.cl", "status.smarteros.cl"]]).map((i) => i.path)).toEqual([0, 1, 2].map((j) => `${SMARTEROS}.domains[${j}]`));
    expect(issuesOf([3, 0, ["n8n.smarteros.cl"]])[0]!.message).toBe(
      '"n8n.smarteros.cl" starts with "n8n", which the policy pack reserves for hostnames behind Cloudflare Access (Studio, n8n, status, console); an API is not behind Access: pick another first label',
    );
  });

  it("a domain that is no domain name, from the schema", () => {
    expect(issuesOf([3, 0, ["https://api.smarteros.cl"]])).toEqual([{ path: `${SMARTEROS}.domains[0]`, message: "must be a lowercase domain name such as example.com" }]);
  });
});
