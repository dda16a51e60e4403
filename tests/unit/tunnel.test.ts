import { studioPorts } from "../../src/model/ports";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { TunnelIngress } from "../../components/TunnelIngress";
import { planFleet } from "../../src/plan/planFleet";
import { FleetMocks } from "../../src/offline/mocks";
import { diffSnapshots } from "../../src/offline/diff";
import { isSecretEnvelope } from "../../src/offline/secretEnvelope";
import { promiseOf, type ResourceNode, type Snapshot } from "../../src/offline/run";
import { ingressRules } from "../../src/render/ingress";
import type { FleetConfig } from "../../src/config/schema";
import { runDoc } from "../helpers/offline";
import { check, clone, stackDoc } from "../helpers/stacks";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = Record<string, any>;

const TYPE = {
  config: "cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig",
  dns: "cloudflare:index/dnsRecord:DnsRecord",
  app: "cloudflare:index/zeroTrustAccessApplication:ZeroTrustAccessApplication",
  policy: "cloudflare:index/zeroTrustAccessPolicy:ZeroTrustAccessPolicy",
  tunnel: "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared",
};

const of = (s: Snapshot, type: string): ResourceNode[] => s.resources.filter((r) => r.type === type);

describe.each(["staging", "prod"])("the %s tunnel", (stack) => {
  const doc = stackDoc(stack) as Doc;
  const model = planFleet(stack, check(doc).config as FleetConfig);
  let s: Snapshot;
  let ingresses: { hostname?: string; service: string }[];

  it("renders", async () => {
    s = await runDoc(stack, doc);
    ingresses = (of(s, TYPE.config)[0]!.inputs.config as { ingresses: typeof ingresses }).ingresses;
  });

  it("orders the rules by hostname and ends with the only rule without one, the 404 catch-all", () => {
    const hostnames = ingresses.slice(0, -1).map((r) => r.hostname!);
    expect(hostnames).toEqual([...hostnames].sort((a, b) => a.localeCompare(b)));
    expect(ingresses.at(-1)).toEqual({ service: "http_status:404" });
    expect(ingresses.filter((r) => r.hostname === undefined)).toHaveLength(1);
  });

  it("routes every API hostname to its worker's gateway, and each Studio to where it runs", () => {
    const byHost = new Map(ingresses.map((r) => [r.hostname, r.service]));
    for (const p of model.projects) {
      expect(byHost.get(p.hostnames.api)).toBe(`http://${p.worker.address}:${p.ports.gateway}`);
      // On the master: its waker's socket on loopback, where cloudflared runs; on the worker: behind the gateway.
      expect(byHost.get(p.hostnames.studio)).toBe(p.studio === "master" ? `http://127.0.0.1:${studioPorts(p.slot).listen}` : `http://${p.worker.address}:${p.ports.gateway}`);
    }
    expect(byHost.get(`n8n.${doc["supafleet:domain"]}`)).toBe("http://127.0.0.1:5678");
    // Kuma listens on the hub's WireGuard address, where the workers' pushes reach it too.
    expect(byHost.get(`status.${doc["supafleet:domain"]}`)).toBe(`http://${model.wireguard.hub}:3001`);
  });

  it("never points a rule at a database or pooler port", () => {
    const forbidden = new Set([5432, 6543, ...model.projects.map((p) => p.ports.db)]);
    for (const r of ingresses) {
      const port = /:(\d+)$/.exec(r.service)?.[1];
      if (port !== undefined) expect(forbidden.has(Number(port)), r.service).toBe(false);
    }
  });

  it("puts every non-API hostname but the tenants' status pages behind an Access application with an allow policy, and no policy admits everyone", () => {
    const policies = new Map(of(s, TYPE.policy).map((p) => [p.id!, p]));
    const policyById = (id: string): ResourceNode | undefined => policies.get(id);
    const apps = new Map(of(s, TYPE.app).map((a) => [a.inputs.domain as string, a]));
    const statusPages = new Set<string>(doc["supafleet:tenants"].filter((t: Doc) => t.statusPage).map((t: Doc) => `status-${t.slug}.${doc["supafleet:domain"]}`));
    const protectedHosts = ingresses.filter((r) => r.hostname !== undefined && !statusPages.has(r.hostname) && !model.projects.some((p) => p.hostnames.api === r.hostname)).map((r) => r.hostname!);
    expect(protectedHosts.length).toBe(model.projects.length + 2);
    for (const host of statusPages) expect(apps.has(host), host).toBe(false);
    for (const host of protectedHosts) {
      const app = apps.get(host);
      expect(app, host).toBeDefined();
      expect(app!.inputs.type).toBe("self_hosted");
      const decisions = (app!.inputs.policies as { id: string }[]).map((p) => policyById(p.id)?.inputs.decision);
      expect(decisions, host).toContain("allow");
    }
    for (const p of model.projects) expect(apps.has(p.hostnames.api), p.hostnames.api).toBe(false);
    for (const p of of(s, TYPE.policy)) {
      expect(JSON.stringify(p.inputs.includes), p.name).not.toContain("everyone");
      expect((p.inputs.includes as unknown[]).length, p.name).toBeGreaterThan(0);
    }
    // n8n's webhooks: only the automation service token (or listed ranges), never a login page.
    const webhook = apps.get(`n8n.${doc["supafleet:domain"]}/webhook`)!;
    expect((webhook.inputs.policies as { id: string }[]).map((p) => policyById(p.id)?.inputs.decision)).toEqual(["non_identity"]);
  });

  it("has exactly one proxied CNAME to the tunnel per ingress hostname", () => {
    const records = of(s, TYPE.dns).filter((r) => r.parent?.endsWith("RmmNode::rmm") !== true);
    const tunnelId = s.outputs.tunnelId as string;
    expect(records.map((r) => r.inputs.name).sort()).toEqual([...new Set(ingresses.flatMap((r) => (r.hostname ? [r.hostname] : [])))].sort());
    for (const r of records) expect(r.inputs).toMatchObject({ type: "CNAME", proxied: true, ttl: 1, content: `${tunnelId}.cfargotunnel.com` });
  });

  it("points Tactical RMM's three names straight at its server, DNS-only, and routes none of them through the tunnel", () => {
    const rmm = of(s, TYPE.dns).filter((r) => r.parent?.endsWith("RmmNode::rmm") === true);
    if (s.outputs.rmm === undefined) return expect(rmm).toEqual([]);
    expect(rmm.map((r) => `${r.inputs.name} ${r.inputs.type}`).sort()).toEqual(
      ["api", "mesh", "rmm"].flatMap((n) => [`${n}.techhilfepro.de A`, `${n}.techhilfepro.de AAAA`]).sort(),
    );
    for (const r of rmm) expect(r.inputs.proxied, r.name).toBe(false);
    const routed = new Set(ingresses.flatMap((r) => (r.hostname ? [r.hostname] : [])));
    for (const r of rmm) expect(routed.has(r.inputs.name as string), r.name).toBe(false);
  });

  it("keeps the tunnel secret and the connector's token secret", () => {
    expect(isSecretEnvelope(of(s, TYPE.tunnel)[0]!.inputs.tunnelSecret)).toBe(true);
    expect(isSecretEnvelope(s.resources.find((r) => r.name === "edge-cloudflared")!.inputs.stdin)).toBe(true);
  });
});

describe("removing a project from prod", () => {
  it("removes exactly its ingress rules, DNS records and Access application, and restarts nothing", async () => {
    const base = await runDoc("prod", stackDoc("prod"));
    const c = clone(stackDoc("prod")) as Doc;
    c["supafleet:tenants"][3].projects = c["supafleet:tenants"][3].projects.filter((p: Doc) => p.name !== "smarteros-chat");
    const changes = diffSnapshots(base, await runDoc("prod", c));
    const edge = changes.filter((ch) => ch.name.startsWith("edge-"));
    expect(edge.map((ch) => `${ch.kind} ${ch.name}`).sort()).toEqual([
      "delete edge-app-smarteros-chat-studio",
      "delete edge-dns-smarteros-chat",
      "delete edge-dns-smarteros-chat-studio",
      "update edge-config",
    ]);
    expect(edge.find((ch) => ch.name === "edge-config")!.paths).toEqual([
      "config.ingresses[smarteros-chat-studio.techhilfepro.de]",
      "config.ingresses[smarteros-chat.techhilfepro.de]",
    ]);
    expect(changes.some((ch) => ch.name === "edge-cloudflared")).toBe(false);
  });
});

describe("TunnelIngress on its own", () => {
  it("exports the tunnel token as a secret and refuses rules cloudflared would refuse", async () => {
    await pulumi.runtime.setMocks(new FleetMocks(), "supafleet", "unit", false);
    const model = planFleet("unit", check(stackDoc("staging")).config as FleetConfig);
    const master = { ssh: { masterHost: "198.51.100.1", privateKey: pulumi.secret("key") }, ready: new pulumi.ComponentResource("test:index:Ready", "ready") };
    const args = {
      env: "unit",
      protect: false,
      accountId: "0".repeat(32),
      zoneId: "1".repeat(32),
      rules: ingressRules(model),
      access: { emails: ["a@example.org"], emailDomains: [], sessionDuration: "1h", webhookSources: [] },
      n8nHostname: "n8n.example.org",
      master,
    };
    const tunnel = new TunnelIngress("edge", args);
    expect(await pulumi.isSecret(tunnel.tunnelToken)).toBe(true);
    expect(await promiseOf(tunnel.tunnelToken)).toMatch(/^[A-Za-z0-9+/=]+$/);
    expect(() => new TunnelIngress("bad", { ...args, rules: [...args.rules.slice(0, -1)] })).toThrow(/the last ingress rule must match all URLs/);
  });
});
