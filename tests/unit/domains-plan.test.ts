import * as pulumi from "@pulumi/pulumi";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CustomDomains } from "../../components/CustomDomains";
import type { FleetConfig } from "../../src/config/schema";
import { FleetMocks } from "../../src/offline/mocks";
import { REPLACE_ON } from "../../src/offline/replaceOn";
import { promiseOf, type ResourceNode, type Snapshot } from "../../src/offline/run";
import { planFleet } from "../../src/plan/planFleet";
import { ProbeTargetSchema } from "../../src/probe/target";
import { runDoc } from "../helpers/offline";
import { packConfig, runPack } from "../helpers/policyPack";
import { check, clone, stackDoc } from "../helpers/stacks";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = Record<string, any>;

const TYPE = {
  config: "cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig",
  dns: "cloudflare:index/dnsRecord:DnsRecord",
  app: "cloudflare:index/zeroTrustAccessApplication:ZeroTrustAccessApplication",
  tunnel: "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared",
  customHostname: "cloudflare:index/customHostname:CustomHostname",
  fallbackOrigin: "cloudflare:index/customHostnameFallbackOrigin:CustomHostnameFallbackOrigin",
};
const of = (s: Snapshot, type: string): ResourceNode[] => s.resources.filter((r) => r.type === type);
const named = (s: Snapshot, name: string): ResourceNode => s.resources.find((r) => r.name === name)!;

/** prod, with smarteros serving one hostname in the fleet's zone and one in the client's. */
function withDomains(): Doc {
  const c = clone(stackDoc("prod")) as Doc;
  const project = c["supafleet:tenants"].flatMap((t: Doc) => t.projects ?? []).find((p: Doc) => p.name === "smarteros");
  project.domains = ["smarteros-app.techhilfepro.de", "api.smarteros.cl"];
  return c;
}

describe("a project's custom domains in prod", () => {
  let s: Snapshot;
  let ingresses: { hostname?: string; service: string }[];
  const plan = planFleet("prod", check(withDomains()).config as FleetConfig);
  const smarteros = plan.projects.find((p) => p.name === "smarteros")!;
  const gateway = `http://${smarteros.worker.address}:${smarteros.ports.gateway}`;

  it("renders", async () => {
    s = await runDoc("prod", withDomains());
    expect(s.error).toBeUndefined();
    ingresses = (of(s, TYPE.config)[0]!.inputs.config as { ingresses: typeof ingresses }).ingresses;
  });

  it("sends each domain to the project's own gateway, as its API hostname", () => {
    const byHost = new Map(ingresses.map((r) => [r.hostname, r.service]));
    expect(byHost.get("smarteros.techhilfepro.de")).toBe(gateway);
    expect(byHost.get("smarteros-app.techhilfepro.de")).toBe(gateway);
    expect(byHost.get("api.smarteros.cl")).toBe(gateway);
  });

  it("gives the fleet-zone domain a proxied CNAME to the tunnel exactly like the API hostname's, and the client's domain no record in the fleet's zone", () => {
    const api = named(s, "edge-dns-smarteros").inputs;
    const custom = named(s, "edge-dns-smarteros-app").inputs;
    expect(custom).toEqual({ ...api, name: "smarteros-app.techhilfepro.de" });
    expect(custom).toMatchObject({ type: "CNAME", proxied: true, content: `${of(s, TYPE.tunnel)[0]!.id}.cfargotunnel.com` });
    expect(of(s, TYPE.dns).filter((r) => String(r.inputs.name).endsWith("smarteros.cl"))).toEqual([]);
  });

  it("puts no Access application in front of either: the API's keys protect it", () => {
    const domains = of(s, TYPE.app).map((r) => r.inputs.domain);
    expect(domains).not.toContain("smarteros-app.techhilfepro.de");
    expect(domains).not.toContain("api.smarteros.cl");
  });

  it("makes the client's domain a Cloudflare for SaaS custom hostname with HTTP validation, and the fleet's one fallback origin", () => {
    expect(of(s, TYPE.customHostname).map((r) => [r.name, r.inputs])).toEqual([
      ["custom-domains-api.smarteros.cl", { zoneId: plan.edge.zoneId, hostname: "api.smarteros.cl", ssl: { method: "http", type: "dv" } }],
    ]);
    expect(of(s, TYPE.fallbackOrigin).map((r) => r.inputs)).toEqual([{ zoneId: plan.edge.zoneId, origin: "custom-domains.techhilfepro.de" }]);
    const fallback = named(s, "custom-domains-fallback-dns");
    expect(fallback.inputs).toMatchObject({ name: "custom-domains.techhilfepro.de", type: "CNAME", proxied: true, content: `${of(s, TYPE.tunnel)[0]!.id}.cfargotunnel.com` });
    expect(named(s, "custom-domains-fallback-origin").dependsOn).toEqual([fallback.key]);
    expect(named(s, "custom-domains-api.smarteros.cl").dependsOn).toEqual([named(s, "custom-domains-fallback-origin").key]);
  });

  it("outputs what the client adds, by project and hostname", () => {
    expect(s.outputs.customDomains).toEqual({
      smarteros: {
        "smarteros-app.techhilfepro.de": { kind: "zone", record: expect.stringContaining("nothing for the client to add") },
        "api.smarteros.cl": { kind: "saas", cnameTarget: "custom-domains.techhilfepro.de", certificate: { method: "http", records: [], errors: [] } },
      },
    });
  });

  it("knows what replaces its new resource types (the offline diff's table)", () => {
    const types = [...new Set(s.resources.filter((r) => r.custom).map((r) => r.type))];
    expect(types.filter((t) => REPLACE_ON[t] === undefined)).toEqual([]);
    expect(REPLACE_ON[TYPE.customHostname]).toEqual(["zoneId", "hostname"]);
  });

  it("passes the policy pack", async () => {
    expect((await runPack(s.resources, packConfig("prod"))).violations).toEqual([]);
  });

  it("gives the probe both domains to check against the project's fleet hostname", () => {
    const target = ProbeTargetSchema.parse(s.outputs.probeTarget);
    expect(target.projects.find((p) => p.name === "smarteros")!.customDomains).toEqual(["https://smarteros-app.techhilfepro.de", "https://api.smarteros.cl"]);
    expect(target.projects.find((p) => p.name === "ops")!.customDomains).toEqual([]);
  });

  it("makes no fallback origin while no project has a domain in a client's zone", async () => {
    const c = withDomains();
    c["supafleet:tenants"].flatMap((t: Doc) => t.projects ?? []).find((p: Doc) => p.name === "smarteros").domains = ["smarteros-app.techhilfepro.de"];
    const zoneOnly = await runDoc("prod", c);
    expect(of(zoneOnly, TYPE.fallbackOrigin)).toEqual([]);
    expect(of(zoneOnly, TYPE.customHostname)).toEqual([]);
    expect(zoneOnly.resources.some((r) => r.name.startsWith("custom-domains"))).toBe(false);
  });
});

/** What Cloudflare's API answers for a custom hostname waiting for its CNAME (the shape of GET /zones/:zone/custom_hostnames/:id). */
class PendingHostnameMocks extends FleetMocks {
  override newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Record<string, unknown> } {
    const r = super.newResource(args);
    if (args.type !== TYPE.customHostname) return r;
    return { ...r, state: { ...r.state, status: "pending", ownershipVerification: { type: "txt", name: `_cf-custom-hostname.${args.inputs.hostname}`, value: "5cc7ea81-0d4f-4e04-a0b2-5b2b1a0e1f4c" } } };
  }
  override call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
    if (args.token !== "cloudflare:index/getCustomHostname:getCustomHostname") return super.call(args);
    // Read later than the resource was made: the hostname has gone active, its certificate not yet.
    return {
      ...args.inputs,
      status: "active",
      ssl: {
        status: "pending_validation",
        validationRecords: [{ status: "pending", httpUrl: "http://api.client.example/.well-known/acme-challenge/Tk9", httpBody: "Tk9.abc", txtName: "", txtValue: "", cname: "", cnameTarget: "", emails: [] }],
        validationErrors: [{ message: "custom hostname does not CNAME to this zone." }],
      },
    };
  }
}

describe("CustomDomains on its own", () => {
  it("reads each hostname's state and validation records back, fresher than the resource's, keeping only the fields that hold something", async () => {
    await pulumi.runtime.setMocks(new PendingHostnameMocks(), "supafleet", "unit", false);
    const domains = new CustomDomains("custom-domains", { env: "unit", zoneId: "1".repeat(32), tunnelId: "tunnel", fallbackHostname: "custom-domains.example.org", hostnames: [{ hostname: "api.client.example", project: "crm" }] });
    expect(await promiseOf(domains.validation)).toEqual({
      "api.client.example": {
        project: "crm",
        cnameTarget: "custom-domains.example.org",
        status: "active",
        ownership: { type: "txt", name: "_cf-custom-hostname.api.client.example", value: "5cc7ea81-0d4f-4e04-a0b2-5b2b1a0e1f4c" },
        certificate: {
          method: "http",
          status: "pending_validation",
          records: [{ status: "pending", httpUrl: "http://api.client.example/.well-known/acme-challenge/Tk9", httpBody: "Tk9.abc" }],
          errors: ["custom hostname does not CNAME to this zone."],
        },
      },
    });
  });
});

describe("the tunnel's rules", () => {
  it("never give one hostname to two projects, whatever domains they take (property)", () => {
    const base = check(stackDoc("prod")).config as FleetConfig;
    const names = base.tenants.flatMap((t) => t.projects.map((p) => p.name));
    // A small pool, so that projects often pick the same domain, a fleet hostname, or one of their own twice.
    const label = fc.constantFrom("shop", "app", "ops", "smarteros", "praxis-studio", "status-kita", "custom-domains", "n8n");
    const domain = fc.oneof(label.map((l) => `${l}.techhilfepro.de`), label.map((l) => `${l}.client.example`), fc.constant("api.x.techhilfepro.de"));
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...names), domain), { maxLength: 12 }), (picks) => {
        const c = clone(stackDoc("prod")) as Doc;
        const projects = c["supafleet:tenants"].flatMap((t: Doc) => t.projects ?? []);
        for (const [name, d] of picks) projects.find((p: Doc) => p.name === name).domains = [...(projects.find((p: Doc) => p.name === name).domains ?? []), d];
        const result = check(c);
        // A stack file that would share a hostname is refused; one that is accepted never shares one.
        if (result.issues.length > 0) return;
        accepted++;
        const rules = planFleet("prod", result.config as FleetConfig).edge.rules;
        const owner = new Map<string, string>();
        for (const r of rules) {
          if (r.hostname === undefined) continue;
          expect(owner.get(r.hostname) ?? r.owner, r.hostname).toBe(r.owner);
          owner.set(r.hostname, r.owner!);
        }
      }),
      { numRuns: 200 },
    );
    expect(accepted).toBeGreaterThan(20);
  });
});
