import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkCustomDomain, customDomainCheckName } from "../../src/probe/checks/customDomain";
import { projectChecks } from "../../src/probe/run";
import { ProbeTargetSchema } from "../../src/probe/target";
import { checkFleetConfig } from "../../src/config/load";
import { renderE2eStackFile } from "../../src/e2e/stack";
import { engineConfigFromYaml, stackConfigInput } from "../../src/offline/stackFile";
import { planFleet } from "../../src/plan/planFleet";
import { withDeclaredSecrets } from "../helpers/stacks";

const ANON = "anon-key";
type Behaviour = "gateway" | "other-project" | "catch-all";

/** Stands in for the tunnel and one project's gateway: Kong's key check, GoTrue's health, PostgREST's root; or cloudflared's 404. */
function serve(behaviour: () => Behaviour): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const b = behaviour();
    if (b === "catch-all") return res.writeHead(404).end();
    if (req.headers.apikey !== ANON) return res.writeHead(401, { "content-type": "application/json" }).end('{"message":"No API key found in request"}');
    const version = b === "gateway" ? "v2.180.0" : "v2.170.0";
    if (req.url === "/auth/v1/health") return res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ version, name: "GoTrue", description: "GoTrue is a user registration and authentication API" }));
    if (req.url === "/rest/v1/") return res.writeHead(200, { "content-type": "application/openapi+json" }).end('{"swagger":"2.0"}');
    res.writeHead(404, { "content-type": "application/json" }).end('{"message":"no Route matched with those values"}');
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server })));
}

describe("the custom domain check", () => {
  let fleet: { url: string; server: Server };
  let custom: { url: string; server: Server };
  let customBehaves: Behaviour = "gateway";

  beforeAll(async () => {
    fleet = await serve(() => "gateway");
    custom = await serve(() => customBehaves);
  });
  afterAll(async () => {
    for (const s of [fleet, custom]) await new Promise((r) => s.server.close(r));
  });

  it("passes when the domain answers as the fleet hostname does", async () => {
    customBehaves = "gateway";
    expect(await checkCustomDomain(fleet.url, custom.url, ANON)).toEqual({ ok: true, detail: `${custom.url} answers /auth/v1/health and /rest/v1/ as the fleet hostname does` });
  });

  it("fails when the tunnel has no rule for the domain (cloudflared's catch-all 404)", async () => {
    customBehaves = "catch-all";
    expect(await checkCustomDomain(fleet.url, custom.url, ANON)).toEqual({ ok: false, detail: `${custom.url}/auth/v1/health answered 404 (no body), the fleet hostname 200` });
  });

  it("fails when the domain reaches another project", async () => {
    customBehaves = "other-project";
    const r = await checkCustomDomain(fleet.url, custom.url, ANON);
    expect(r.ok).toBe(false);
    expect(r.detail).toContain(`${custom.url}/auth/v1/health answered 200 with another body than the fleet hostname's: {"version":"v2.170.0"`);
  });

  it("fails, and says why, when the fleet hostname itself does not answer", async () => {
    customBehaves = "gateway";
    expect(await checkCustomDomain(fleet.url, custom.url, "wrong-key")).toEqual({ ok: false, detail: `the fleet hostname answered /auth/v1/health with 401, so there is nothing to compare ${custom.url} with` });
  });
});

describe("the probe target and its checks", () => {
  const project = {
    name: "crm",
    apiUrl: "https://crm.example.org",
    studioUrl: "https://crm-studio.example.org",
    anonKey: "a",
    serviceKey: "s",
    worker: { name: "w1", meshAddress: "10.100.0.2" },
    tenants: [{ slug: "acme", id: "00000000-0000-4000-a000-000000000000" }],
    mspOps: false,
    functions: [],
  };
  const target = (p: object) => ({ stack: "t", projects: [p], accessProtected: [], hosts: { master: { ipv4: "198.51.100.1", meshAddress: "10.100.0.1" }, workers: [] }, kuma: { url: "http://10.100.0.1:3001", statusPages: [] } });

  it("checks each custom domain right after the latency, and none for a target written without them", () => {
    const withDomains = ProbeTargetSchema.parse(target({ ...project, customDomains: ["https://api.crm.example", "https://crm-app.example.org"] })).projects[0]!;
    expect(projectChecks(withDomains).slice(0, 4)).toEqual(["latency", "domain api.crm.example", "domain crm-app.example.org", "auth"]);
    expect(customDomainCheckName("https://api.crm.example")).toBe("domain api.crm.example");
    const without = ProbeTargetSchema.parse(target(project)).projects[0]!;
    expect(projectChecks(without).slice(0, 2)).toEqual(["latency", "auth"]);
  });
});

describe("the e2e stack", () => {
  it("gives its project a custom domain in the e2e zone, with the run id, and no fallback origin, which runs would share", () => {
    const { stack, text } = renderE2eStackFile({
      run: "12345678901-1",
      domain: "e2e.techhilfe.dev",
      zoneId: "0123456789abcdef0123456789abcdef",
      accountId: "fedcba9876543210fedcba9876543210",
      accessEmail: "ci@techhilfepro.de",
      sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFl0dVgqQbwT3Ew8Zc1w4m1u3pAq8s9k9Qm3o2pS8e1G runner@fv-az123",
      runnerIp: "20.51.7.9",
    });
    const checked = checkFleetConfig(withDeclaredSecrets(stackConfigInput(stack, engineConfigFromYaml(text, `Pulumi.${stack}.yaml`))));
    expect(checked.issues ?? []).toEqual([]);
    const plan = planFleet(stack, checked.config!);
    expect(plan.projects.map((p) => p.customDomains)).toEqual([[{ hostname: "client-r12345678901-1.e2e.techhilfe.dev", kind: "zone" }]]);
    expect(plan.edge.fallbackOrigin).toBeUndefined();
  });
});
