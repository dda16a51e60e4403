import { describe, expect, it } from "vitest";
import { RELEASES } from "../../src/model/releases";
import { isSecretEnvelope } from "../../src/offline/secretEnvelope";
import { countByType, displayType } from "../../src/offline/tree";
import type { Snapshot } from "../../src/offline/run";
import { runDoc } from "../helpers/offline";
import { check, clone, stackDoc } from "../helpers/stacks";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = Record<string, any>;

/** What the design says each config should register, type by type. */
function expectedCounts(c: Doc): Record<string, number> {
  const projects: Doc[] = c["supafleet:tenants"].flatMap((t: Doc) => t.projects ?? []);
  const P = projects.length;
  const dedicated = projects.filter((p) => "dedicated" in p.placement).length;
  const W = c["supafleet:workers"].length + dedicated;
  const withPacks = projects.filter((p) => (p.schemaPacks ?? []).length > 0).length;
  const withStorage = projects.filter((p) => p.services?.storage ?? true).length;
  const withFunctions = projects.filter((p) => p.services?.functions ?? true).length;
  const opaque = projects.filter((p) => RELEASES[p.release ?? c["supafleet:supabase"].release]!.opaqueKeys).length;
  const generatedOperatorKeys = c["supafleet:operators"].filter((o: Doc) => o.wireguard !== undefined && o.wireguard.publicKey === undefined).length;
  const webhookSources = (c["supafleet:access"]?.webhookSources ?? []).length > 0 ? 1 : 0;
  // Access's identity providers: each declared one, and the one-time PIN when access.oneTimePin asks for it.
  const idps = (c["supafleet:access"]?.identityProviders ?? []).length + (c["supafleet:access"]?.oneTimePin === true ? 1 : 0);
  const statusPages = c["supafleet:tenants"].filter((t: Doc) => t.statusPage === true).length;
  const drills = c["supafleet:backups"].drillOf !== undefined ? 1 : 0;
  const rmm = c["supafleet:rmm"] !== undefined ? 1 : 0;
  const masterStudios = projects.filter((p) => (p.studio ?? "master") === "master").length;
  // Projects that archive their WAL (backups.pitr, on unless turned off) have a Kuma push token for it.
  const walArchives = projects.filter((p) => p.pitr ?? c["supafleet:backups"].pitr?.enabled ?? true).length;
  const registries = projects.filter((p) => p.registry !== undefined).length;
  return {
    "supafleet:index:MasterNode": 1,
    "supafleet:index:WorkerNode": W,
    "supafleet:index:SupabaseProject": P,
    "supafleet:index:BackupSchedule": P + 1, // every project, and the master
    "supafleet:index:BackupVault": 1,
    "supafleet:index:RlsPolicySet": withPacks,
    "supafleet:index:ProjectBuckets": withStorage,
    "supafleet:index:ProjectFunctions": withFunctions,
    ...(registries > 0 ? { "supafleet:index:ProjectRegistry": registries } : {}),
    "supafleet:index:TunnelIngress": 1,
    "supafleet:index:Monitoring": 1,
    "supafleet:index:Automations": 1,
    "supafleet:index:StudioSet": 1,
    ...(rmm > 0 ? { "supafleet:index:RmmNode": 1 } : {}),
    ...(drills > 0 ? { "supafleet:index:BackupDrill": drills, "pulumi:pulumi:StackReference": drills } : {}),
    "hcloud:index/server:Server": 1 + W + rmm,
    "hcloud:index/firewall:Firewall": 1 + W + rmm,
    "hcloud:index/sshKey:SshKey": 1,
    "hcloud:index/primaryIp:PrimaryIp": 1,
    "hcloud:index/storageBox:StorageBox": 1,
    // Per backup job: its own and a read-only one.
    "hcloud:index/storageBoxSubaccount:StorageBoxSubaccount": 2 * (P + 1),
    "tls:index/privateKey:PrivateKey": 1,
    // WireGuard keys (master, workers, operators without their own), the tunnel secret, two S3 keys per project, opaque API keys.
    "random:index/randomBytes:RandomBytes": 1 + W + rmm + generatedOperatorKeys + 1 + 2 * P + 2 * opaque,
    // Six per project, and the dashboard password of a Studio on its worker; per backup job restic, sub-account, Kuma push token, reader
    // key and reader sub-account; the WAL archive's Kuma push token; the Storage Box's own; each worker's health agent token; Kuma's
    // admin; n8n's encryption key, owner, TRMM webhook and billing signature secrets.
    "random:index/randomPassword:RandomPassword": 6 * P + (P - masterStudios) + 5 * (P + 1) + walArchives + 1 + W + 1 + 4,
    // Per node: ready, authorized keys, backup tools, release file; the hub sync, cloudflared; per project: password,
    // config, assets, auth config, deploy; per backup job: enable; migrations; buckets; functions; registry seeds; per worker: health agent and its managed firewall;
    // Kuma and n8n: install, secrets, reconcile; TRMM's node: ready, authorized keys, prepare, release file;
    // the Studios' tools, and each Studio on the master: its secrets, its files, and a refresh.
    "command:remote:Command": 4 * (1 + W) + 1 + 1 + 5 * P + (P + 1) + withPacks + withStorage + withFunctions + registries + 2 * W + 3 + 3 + 4 * rmm + drills + 1 + 3 * masterStudios,
    "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared": 1,
    "cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig": 1,
    // Per project API and Studio, n8n and status, tenants' status pages; TRMM's three names, A and AAAA, DNS-only.
    "cloudflare:index/dnsRecord:DnsRecord": 2 * P + 2 + statusPages + 6 * rmm,
    "cloudflare:index/zeroTrustAccessApplication:ZeroTrustAccessApplication": P + 2 + 1,
    "cloudflare:index/zeroTrustAccessPolicy:ZeroTrustAccessPolicy": 2 + webhookSources,
    "cloudflare:index/zeroTrustAccessServiceToken:ZeroTrustAccessServiceToken": 1,
    ...(idps > 0 ? { "cloudflare:index/zeroTrustAccessIdentityProvider:ZeroTrustAccessIdentityProvider": idps } : {}),
  };
}

for (const stack of ["staging", "prod"]) {
  describe(`the ${stack} program under the mock runtime`, () => {
    let snapshot: Snapshot;
    const doc = stackDoc(stack) as Doc;

    it("runs without config errors", async () => {
      snapshot = await runDoc(stack, doc);
      expect(snapshot.error).toBeUndefined();
    });

    it("registers exactly the resources its config calls for", () => {
      const expected = Object.entries(expectedCounts(doc)).map(([type, n]) => [displayType(type), n]);
      expect(Object.fromEntries(countByType(snapshot.resources))).toEqual(Object.fromEntries(expected));
    });

    it("parents every resource to its component, and nests only a project's RLS under the project", () => {
      const byKey = new Map(snapshot.resources.map((r) => [r.key, r]));
      for (const r of snapshot.resources) {
        // Another stack's outputs, read once for the whole program.
        if (r.type === "pulumi:pulumi:StackReference") continue;
        if (r.type === "supafleet:index:RlsPolicySet") {
          const parent = byKey.get(r.parent!)!;
          expect(parent.type, r.key).toBe("supafleet:index:SupabaseProject");
          expect(r.name).toBe(`${parent.name}-rls`);
          continue;
        }
        if (r.type === "supafleet:index:ProjectBuckets" || r.type === "supafleet:index:ProjectFunctions" || r.type === "supafleet:index:ProjectRegistry") {
          expect(byKey.get(r.parent!)!.type, r.key).toBe("supafleet:index:SupabaseProject");
          continue;
        }
        if (r.type.startsWith("supafleet:index:")) {
          expect(r.parent, r.key).toBeUndefined();
          continue;
        }
        expect(r.parent, `${r.key} has no parent`).toBeDefined();
        const parent = byKey.get(r.parent!)!;
        expect(parent.type, r.key).toMatch(/^supafleet:index:/);
        expect(r.name.startsWith(`${parent.name}-`), `${r.name} under ${parent.name}`).toBe(true);
      }
    });

    it("exports every key and credential as a secret, and URLs in the clear", () => {
      const out = snapshot.outputs as Doc;
      const projects: Doc[] = doc["supafleet:tenants"].flatMap((t: Doc) => t.projects ?? []);
      expect(out.masterIpv4).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(Object.keys(out.projects).sort()).toEqual(projects.map((p) => p.name).sort());
      for (const p of projects) {
        expect(out.projects[p.name].apiUrl).toBe(`https://${p.subdomain}.${doc["supafleet:domain"]}`);
        expect(out.projects[p.name].studioUrl).toBe(`https://${p.subdomain}-studio.${doc["supafleet:domain"]}`);
      }
      for (const p of projects) {
        const secrets = out.projectSecrets[p.name];
        expect(Object.keys(secrets)).toEqual(expect.arrayContaining(["anonKey", "serviceRoleKey", "connectionString"]));
        for (const [k, v] of Object.entries(secrets)) expect(v, `${p.name}.${k}`).toBe("[secret]");
      }
      expect(out.automationServiceToken).toEqual({ clientId: "[secret]", clientSecret: "[secret]" });
      expect(out.monitoring).toMatchObject({ url: `https://status.${doc["supafleet:domain"]}`, adminUser: "supafleet", adminPassword: "[secret]" });
      expect(out.automations).toMatchObject({ editor: `https://n8n.${doc["supafleet:domain"]}/`, ownerPassword: "[secret]", billingSignatureSecret: "[secret]" });
      // Only a stack with Tactical RMM's node has the gate TRMM's webhook goes through.
      if (doc["supafleet:rmm"] !== undefined) expect(out.automations.trmmWebhook).toEqual({ url: "http://10.100.0.1:5679/webhook/supafleet/trmm", header: "X-Supafleet-Webhook-Secret", secret: "[secret]" });
      else expect(out.automations.trmmWebhook).toBeUndefined();
      const peers = doc["supafleet:operators"].filter((o: Doc) => o.wireguard !== undefined).map((o: Doc) => o.name);
      expect(out.operatorWireguardConfigs).toEqual(Object.fromEntries(peers.map((n: string) => [n, "[secret]"])));
    });

    it("protects in prod what cannot come back: servers, the tunnel, the Storage Box and every backup credential", () => {
      const prod = stack === "prod";
      const of = (type: string): Snapshot["resources"] => snapshot.resources.filter((r) => r.type === type);
      for (const type of ["hcloud:index/server:Server", "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared", "hcloud:index/storageBox:StorageBox"]) {
        for (const r of of(type)) expect(r.protect === true, r.name).toBe(prod);
      }
      // Backup credentials are protected in every stack: losing one loses the backups.
      for (const r of of("hcloud:index/storageBoxSubaccount:StorageBoxSubaccount")) expect(r.protect, r.name).toBe(true);
    });

    it("records the infra release on every host and in the stack outputs", () => {
      const out = snapshot.outputs as Doc;
      // The offline plan fixes the release, so that a pull request's render diff shows only the fleet's changes.
      expect(out.infraRelease).toEqual({ commit: "unknown", describe: "offline plan", dirty: false });
      const hosts = snapshot.resources.filter((r) => /^supafleet:index:(MasterNode|WorkerNode|RmmNode)$/.test(r.type)).map((r) => r.name);
      expect(hosts.length).toBe(snapshot.resources.filter((r) => r.type === "hcloud:index/server:Server").length);
      const stamps = snapshot.resources.filter((r) => r.name.endsWith("-release") && r.type === "command:remote:Command");
      expect(stamps.map((r) => r.name).sort()).toEqual(hosts.map((n) => `${n}-release`).sort());
      for (const r of stamps) {
        expect(JSON.parse(r.inputs.stdin as string)).toEqual({ commit: "unknown", describe: "offline plan", dirty: false, stack: stack });
        expect(r.inputs.create).toContain("mv /etc/supafleet/release.new /etc/supafleet/release");
      }
    });

    it("passes secrets to providers only as secrets", () => {
      const servers = snapshot.resources.filter((r) => r.type === "hcloud:index/server:Server");
      for (const s of servers) expect(isSecretEnvelope(s.inputs.userData), `${s.name} userData`).toBe(true);
      const box = snapshot.resources.find((r) => r.type === "hcloud:index/storageBox:StorageBox")!;
      expect(isSecretEnvelope(box.inputs.password)).toBe(true);
      const cloudflared = snapshot.resources.find((r) => r.name === "edge-cloudflared")!;
      expect(isSecretEnvelope(cloudflared.inputs.stdin)).toBe(true);
    });
  });
}

describe("a refused config under the mock runtime", () => {
  it("registers nothing and returns the full problem list", async () => {
    const doc = structuredClone(stackDoc("staging")) as Doc;
    doc["supafleet:workers"][0].address = "10.110.0.1";
    const snapshot = await runDoc("staging", doc);
    expect(snapshot.error).toBe("Pulumi.staging.yaml has 1 problem; nothing was deployed.\n  - workers[0].address: 10.110.0.1 is the hub's own address (the master); pick another");
    expect(snapshot.resources).toEqual([]);
  });
});

describe("deploying over the mesh (deploy.via: mesh)", () => {
  it("reaches the master at the hub's mesh address and every other host through it: no command needs the public SSH path", async () => {
    const doc = clone(stackDoc("prod")) as Doc;
    doc["supafleet:deploy"] = { via: "mesh" };
    const snapshot = await runDoc("prod", doc);
    expect(snapshot.error).toBeUndefined();
    const hub = "10.100.0.1";
    const commands = snapshot.resources.filter((r) => r.type === "command:remote:Command");
    expect(commands.length).toBeGreaterThan(20);
    for (const c of commands) {
      const conn = c.inputs.connection as { value?: Doc } & Doc;
      const value = (conn.value ?? conn) as { host: string; proxy?: { host: string } };
      if (value.proxy !== undefined) expect(value.proxy.host, c.name).toBe(hub);
      else expect(value.host, c.name).toBe(hub);
    }
  });

  it("refuses keeping a previous deploy key that does not exist", () => {
    const doc = clone(stackDoc("prod")) as Doc;
    doc["supafleet:deploy"] = { keyRound: 0, previousKeyRetired: false };
    expect(check(doc, "prod").issues).toContainEqual({ path: "deploy.previousKeyRetired", message: "there is no previous deploy key at keyRound 0; raise keyRound to rotate" });
  });

  it("is refused without an operator on the mesh to run it from", () => {
    const doc = clone(stackDoc("prod")) as Doc;
    doc["supafleet:deploy"] = { via: "mesh" };
    doc["supafleet:operators"] = doc["supafleet:operators"].filter((o: Doc) => o.wireguard === undefined);
    expect(check(doc, "prod").issues).toContainEqual({ path: "deploy.via", message: "mesh needs an operator on the mesh (operators[].wireguard) to run pulumi up from" });
  });
});
