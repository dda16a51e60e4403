import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkFleetConfig } from "../../src/config/load";
import { engineConfigFromYaml, stackConfigInput } from "../../src/offline/stackFile";
import { runOffline, type Snapshot } from "../../src/offline/run";
import { policyConfigFor } from "../../src/offline/policyConfig";
import { renderE2eStackFile, type E2eInput } from "../../src/e2e/stack";
import type { FleetConfig } from "../../src/config/schema";
import { runPack } from "../helpers/policyPack";
import { ROOT, withDeclaredSecrets } from "../helpers/stacks";

const input = (run: string): E2eInput => ({
  run,
  domain: "e2e.techhilfe.dev",
  zoneId: "0123456789abcdef0123456789abcdef",
  accountId: "fedcba9876543210fedcba9876543210",
  accessEmail: "ci@techhilfepro.de",
  sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFl0dVgqQbwT3Ew8Zc1w4m1u3pAq8s9k9Qm3o2pS8e1G runner@fv-az123",
  runnerIp: "20.51.7.9",
});

async function render(run: string): Promise<{ stack: string; snapshot: Snapshot; config: FleetConfig }> {
  const { stack, text } = renderE2eStackFile(input(run));
  const engine = engineConfigFromYaml(text, `Pulumi.${stack}.yaml`);
  const checked = checkFleetConfig(withDeclaredSecrets(stackConfigInput(stack, engine)));
  expect(checked.issues ?? [], JSON.stringify(checked)).toEqual([]);
  const snapshot = await runOffline(stack, engine);
  return { stack, snapshot, config: checked.config! };
}

/** Every name a run leaves in a cloud account or a zone: resource names, hostnames, labels' env. */
function cloudNames(s: Snapshot): string[] {
  const names: string[] = [];
  for (const r of s.resources.filter((x) => x.custom && /^(hcloud|cloudflare):/.test(x.type))) {
    for (const k of ["name", "domain", "hostname"] as const) if (typeof r.inputs[k] === "string") names.push(r.inputs[k] as string);
  }
  return names;
}

describe("the e2e stack file", () => {
  it("is a valid, unprotected fleet of one master, one worker, one shared project and a tenant pooled into it", async () => {
    const { stack, snapshot, config } = await render("12345678901-1");
    expect(stack).toBe("e2e-12345678901-1");
    expect(snapshot.error).toBeUndefined();
    expect(config.protect).toBe(false);
    expect(config.backups.disposable).toBe(true);
    expect(config.workers.map((w) => w.serverType)).toEqual(["cx23"]);
    expect(config.hetzner.masterServerType).toBe("cx23");
    const projects = config.tenants.flatMap((t) => t.projects);
    expect(projects.map((p) => p.name)).toEqual(["shared"]);
    expect(config.tenants.map((t) => t.isolation)).toEqual(["shared", "pooled"]);
    // Nothing stops pulumi destroy: not a server, not a backup credential.
    expect(snapshot.resources.filter((r) => r.protect === true).map((r) => r.name)).toEqual([]);
    expect(snapshot.resources.filter((r) => r.type === "hcloud:index/server:Server").every((r) => r.inputs.deleteProtection !== true)).toBe(true);
  });

  it("puts the run id in every name it leaves in the cloud account and the zone, so two runs share none", async () => {
    const a = await render("12345678901-1");
    const b = await render("12345678902-1");
    const [namesA, namesB] = [cloudNames(a.snapshot), cloudNames(b.snapshot)];
    expect(namesA.length).toBeGreaterThan(10);
    for (const n of namesA) expect(n, n).toMatch(/12345678901-1/);
    expect(namesA.filter((n) => namesB.includes(n))).toEqual([]);
    const hosts = (a.snapshot.outputs.hostnames as string[] | Record<string, unknown>) ?? [];
    expect(JSON.stringify(hosts)).not.toMatch(/"(n8n|status)\./);
  });

  it("passes the policy pack with the config derived from it", async () => {
    const { snapshot, config } = await render("12345678901-1");
    const result = await runPack(snapshot.resources, JSON.parse(JSON.stringify(policyConfigFor(config))));
    expect(result.violations).toEqual([]);
  });

  it("is refused for a stack that is not an e2e stack: disposable backups stay in e2e", () => {
    const { text } = renderE2eStackFile(input("12345678901-1"));
    const engine = engineConfigFromYaml(text, "Pulumi.staging.yaml");
    const checked = checkFleetConfig(withDeclaredSecrets(stackConfigInput("staging", engine)));
    expect(JSON.stringify(checked.issues)).toContain("backups.disposable");
  });

  it("scripts/e2e-stack.ts writes the file and names the missing variable when one is unset", () => {
    const dir = mkdtempSync(join(tmpdir(), "supafleet-e2e-stack-"));
    try {
      const tsx = join(ROOT, "node_modules/.bin/tsx");
      const env = { ...process.env, E2E_RUN: "77-2", E2E_DOMAIN: "e2e.techhilfe.dev", E2E_ZONE_ID: "0123456789abcdef0123456789abcdef", E2E_ACCOUNT_ID: "fedcba9876543210fedcba9876543210", E2E_ACCESS_EMAIL: "ci@techhilfepro.de", E2E_SSH_PUBLIC_KEY: input("x").sshPublicKey, E2E_RUNNER_IP: "20.51.7.9" };
      expect(execFileSync(tsx, [join(ROOT, "scripts/e2e-stack.ts")], { cwd: dir, env, encoding: "utf8" }).trim()).toBe("e2e-77-2");
      expect(readFileSync(join(dir, "Pulumi.e2e-77-2.yaml"), "utf8")).toContain("supafleet:domain: e2e.techhilfe.dev");
      const missing = spawnSync(tsx, [join(ROOT, "scripts/e2e-stack.ts")], { cwd: dir, env: { ...env, E2E_RUNNER_IP: "" }, encoding: "utf8" });
      expect(missing.status).toBe(2);
      expect(missing.stderr.trim()).toBe("e2e-stack: E2E_RUNNER_IP: is not set");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
