import { describe, expect, it } from "vitest";
import { loadFleetConfig } from "../../src/config/load";
import { workerAgentPayload, agentSettings } from "../../src/console/agentPayload";
import { consoleCompose } from "../../src/console/consoleCompose";
import { healthAgentPayload } from "../../src/monitoring/agent";
import { planFleet } from "../../src/plan/planFleet";
import { masterRuleset, bootMasterSets } from "../../src/render/hostFirewall";
import { renderNftFile } from "../../src/render/nftables";
import { parse } from "yaml";
import { check, clone, stackDoc, validatorInput, withDeclaredSecrets } from "../helpers/stacks";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = Record<string, any>;

function prodWithConsole(teamName: string | undefined): Doc {
  const c = clone(stackDoc("prod")) as Doc;
  if (teamName !== undefined) c["supafleet:cloudflare"] = { ...c["supafleet:cloudflare"], teamName };
  c["supafleet:console"] = { enabled: true };
  return c;
}

const planOf = (doc: Doc) => planFleet("prod", loadFleetConfig(withDeclaredSecrets(validatorInput(doc))).config);

describe("the operator console in the stack file", () => {
  it("is off unless the stack file enables it, and then needs the Zero Trust team, by path", () => {
    expect(planOf(stackDoc("prod")).console).toBeUndefined();
    expect(check(prodWithConsole(undefined)).issues).toEqual([{ path: "console.enabled", message: expect.stringContaining("cloudflare.teamName") }]);
    expect(check(prodWithConsole("techhilfepro")).issues).toEqual([]);
  });

  it("refuses a project's domain or subdomain that takes the console's name", () => {
    const c = prodWithConsole("techhilfepro");
    c["supafleet:tenants"][0].projects[0].subdomain = "console";
    expect(check(c).issues.map((i) => i.path)).toContain("tenants[0].projects[0].subdomain");
  });

  it("lists every tenant and project as the stack file declares them, with its worker, isolation, release and monitors", () => {
    const plan = planOf(prodWithConsole("techhilfepro"));
    const view = plan.console!.fleet;
    expect(plan.console!.hostname).toBe("console.techhilfepro.de");
    expect(view.tenants.map((t) => t.slug)).toEqual(plan.tenants.map((t) => t.slug));
    const listed = view.tenants.flatMap((t) => t.projects.map((p) => [p.name, p.worker, p.isolation, p.release]));
    expect(listed.sort()).toEqual(plan.projects.map((p) => [p.name, p.worker.name, p.tenant.isolation, p.release]).sort());
    expect(view.workers.map((w) => w.name).sort()).toEqual(plan.workers.map((w) => w.name).sort());
    // Monitors are matched by name on Kuma's status page: every one named is a planned monitor.
    const monitorNames = new Set(plan.monitoring.desired.monitors.map((m) => m.name));
    for (const p of view.tenants.flatMap((t) => t.projects)) {
      expect(p.links.monitors.length).toBeGreaterThan(0);
      for (const m of p.links.monitors) expect(monitorNames.has(m), m).toBe(true);
    }
    for (const w of view.workers) expect(w.monitors).toEqual([`${w.name} · WireGuard`, `${w.name} · health agent`]);
    const pooled = view.tenants.filter((t) => t.pooledIn !== undefined);
    for (const t of pooled) expect(view.tenants.flatMap((x) => x.projects).some((p) => p.name === t.pooledIn)).toBe(true);
  });

  it("routes console.<domain> to the hub address, behind Access like n8n's", () => {
    const plan = planOf(prodWithConsole("techhilfepro"));
    expect(plan.edge.rules).toContainEqual({ hostname: "console.techhilfepro.de", service: `http://${plan.wireguard.hub}:3002`, owner: "master", kind: "console" });
    expect(planOf(stackDoc("prod")).edge.rules.some((r) => r.kind === "console")).toBe(false);
  });
});

describe("what the master and the workers receive", () => {
  it("the master admits the console's port from workers and operators on the mesh only", () => {
    const nft = renderNftFile(masterRuleset({ wireguardPort: 51820, allowWorkerToWorker: false, sets: bootMasterSets([]), consolePort: 3002 }));
    const lines = nft.split("\n").filter((l) => l.includes("dport 3002"));
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l).toMatch(/iifname "wg0" ip saddr @(worker|operator)_peers tcp dport 3002 accept/);
  });

  it("the console's compose file runs one read-only container on the host network, as the image's node user, within its memory share", () => {
    const c = parse(consoleCompose("10.100.0.1")).services.console;
    expect(c).toMatchObject({ network_mode: "host", user: "1000:1000", read_only: true, mem_limit: "128m" });
    expect(c.environment.CONSOLE_LISTEN).toBe("10.100.0.1:3002");
    expect(c.ports).toBeUndefined();
  });

  it("a worker's health agent names the worker and the console's report URL only when the console is on", () => {
    const env = (p: string) => JSON.parse(p).files["/etc/supafleet/health-agent.env"].content as string;
    expect(env(healthAgentPayload("http://10.100.0.1:3001/api/push/t", { url: "http://10.100.0.1:3002/api/reports", worker: "w1" }))).toMatch(
      /^REPORT_URL='http:\/\/10\.100\.0\.1:3002\/api\/reports'\nWORKER='w1'$/m,
    );
    expect(env(healthAgentPayload("http://10.100.0.1:3001/api/push/t"))).not.toMatch(/REPORT_URL|WORKER/);
  });

  it("an agent's payload carries its settings, its key at mode 0600, and restarts it; a malformed key is refused", () => {
    const key = "ab".repeat(32);
    const p = JSON.parse(workerAgentPayload(agentSettings("w1", "10.100.0.2", "10.100.0.1"), key));
    expect(JSON.parse(p.files["/etc/supafleet/agent/agent.json"].content)).toEqual({ worker: "w1", address: "10.100.0.2", port: 7081, master: "10.100.0.1" });
    expect(p.files["/etc/supafleet/agent/key"]).toEqual({ content: `${key}\n`, mode: "0600" });
    expect(p.restart).toEqual(["supafleet-agent.service"]);
    expect(() => workerAgentPayload(agentSettings("w1", "10.100.0.2", "10.100.0.1"), "not-a-key")).toThrow(/64 lowercase hex/);
  });
});
