import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { diffSnapshots } from "../../src/offline/diff";
import type { ResourceNode, Snapshot } from "../../src/offline/run";
import { isSecretEnvelope } from "../../src/offline/secretEnvelope";
import { USER_DATA_LIMIT, type CloudConfig } from "../../src/render/cloudConfig";
import { runDoc } from "../helpers/offline";
import { clone, stackDoc } from "../helpers/stacks";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = Record<string, any>;

const FORBIDDEN = [5432, 6543, 8000, 8443, 3000];
const servers = (s: Snapshot): ResourceNode[] => s.resources.filter((r) => r.type === "hcloud:index/server:Server");
const firewalls = (s: Snapshot): ResourceNode[] => s.resources.filter((r) => r.type === "hcloud:index/firewall:Firewall");
const userData = (r: ResourceNode): string => (r.inputs.userData as { value: string }).value;

describe.each(["staging", "prod"])("the %s nodes under the mock runtime", (stack) => {
  const doc = stackDoc(stack) as Doc;
  let s: Snapshot;

  it("renders", async () => {
    s = await runDoc(stack, doc);
  });

  it("give the master exactly WireGuard from anywhere and SSH from the operators' ranges", () => {
    const master = firewalls(s).find((f) => f.name === "master-firewall")!;
    const ranges = [...new Set(doc["supafleet:operators"].flatMap((o: Doc) => o.sourceRanges ?? []))].sort();
    expect(master.inputs.rules).toEqual([
      { direction: "in", protocol: "udp", port: "51820", sourceIps: ["0.0.0.0/0", "::/0"], description: "WireGuard hub" },
      { direction: "in", protocol: "tcp", port: "22", sourceIps: ranges, description: "SSH from operators" },
    ]);
  });

  it("open nothing inbound on a worker: its WireGuard dials the hub and has no port to open", () => {
    const workers = firewalls(s).filter((f) => f.name !== "master-firewall" && f.name !== "rmm-firewall");
    expect(workers.length).toBe(servers(s).filter((x) => (x.inputs.labels as Doc).role === "worker").length);
    for (const f of workers) expect(f.inputs.rules, f.name).toEqual([]);
    // Nor does its host firewall carry a rule for a port nothing listens on.
    for (const server of servers(s).filter((x) => (x.inputs.labels as Doc).role !== "master")) {
      const nft = (parse(userData(server)) as CloudConfig).write_files.find((f) => f.path === "/etc/nftables.d/supafleet.nft")!.content;
      expect(nft, server.name).toContain("chain input");
      // No rule may depend on what the image calls its public interface.
      const names = [...nft.matchAll(/[io]ifname (?:\{ ([^}]*) \}|("[^"]*"))/g)].flatMap((x) => (x[1] ?? x[2]!).split(",").map((n) => n.trim().replaceAll('"', "")));
      for (const n of names) expect(["lo", "wg0", "docker0", "br-*"], `${server.name}: ${n}`).toContain(n);
      expect(nft, server.name).not.toMatch(/udp dport/);
      expect(nft, server.name).not.toContain("ListenPort");
    }
  });

  it("open no service port and never SSH to the world", () => {
    for (const f of firewalls(s)) {
      for (const rule of f.inputs.rules as Doc[]) {
        const port = Number(rule.port);
        expect(FORBIDDEN, `${f.name} ${rule.port}`).not.toContain(port);
        if (rule.port === "22") expect(rule.sourceIps.some((ip: string) => ip.endsWith("/0")), f.name).toBe(false);
      }
    }
  });

  it("give every server a firewall, role and env labels, and protection exactly in prod", () => {
    for (const server of servers(s)) {
      expect((server.inputs.firewallIds as unknown[]).length, server.name).toBe(1);
      expect(server.inputs.labels, server.name).toMatchObject({ env: stack, role: expect.stringMatching(/^(master|worker|rmm)$/) });
      expect(server.inputs.deleteProtection, server.name).toBe(stack === "prod");
      expect(server.inputs.rebuildProtection, server.name).toBe(stack === "prod");
    }
  });

  it("keep every node's boot data within Hetzner's 32 KiB and free of anything that changes", () => {
    for (const server of servers(s)) {
      const text = userData(server);
      expect(Buffer.byteLength(text), server.name).toBeLessThanOrEqual(USER_DATA_LIMIT);
      const cc = parse(text) as CloudConfig;
      const files = cc.write_files.map((f) => f.path);
      expect(files).toEqual(expect.arrayContaining(["/etc/ssh/sshd_config.d/10-supafleet.conf", "/etc/fail2ban/jail.d/sshd.local", "/etc/apt/apt.conf.d/20auto-upgrades", "/etc/nftables.d/supafleet.nft", "/etc/wireguard/wg0.conf"]));
      expect(cc.packages).toEqual(expect.arrayContaining(["wireguard-tools", "nftables", "fail2ban", "unattended-upgrades"]));
      // Tactical RMM's installer wants a fresh host: no Docker there.
      const rmm = (server.inputs.labels as Doc).role === "rmm";
      expect(files.includes("/etc/docker/daemon.json"), server.name).toBe(!rmm);
      expect(cc.packages.includes("docker.io"), server.name).toBe(!rmm);
      // Operators come and go: none of their keys may sit in boot data. The master boots with their ranges of
      // the day (so SSH is never open to the world), and Pulumi ignores that boot data afterwards.
      const master = (server.inputs.labels as Doc).role === "master";
      for (const o of doc["supafleet:operators"]) {
        expect(text, `${server.name} holds ${o.name}'s key`).not.toContain(o.sshPublicKey.split(" ")[1]);
        for (const r of o.sourceRanges ?? []) expect(text.includes(r), `${server.name} and ${r}`).toBe(master);
      }
      // Hetzner's ssh keys only seed the first boot; a rotated deploy key must never replace a server, nor a
      // rotated WireGuard key a worker or Tactical RMM's node (boot data holds the key of the day it was made).
      expect(server.ignoreChanges ?? [], server.name).toEqual(["userData", "sshKeys"]);
      if (master) expect(text).not.toMatch(/0\.0\.0\.0\/0|::\/0/);
      expect(text).toContain("PasswordAuthentication no");
    }
  });

  it("export a client config for every operator on the mesh, as a secret", () => {
    const peers = doc["supafleet:operators"].filter((o: Doc) => o.wireguard);
    expect(Object.keys(s.outputs.operatorWireguardConfigs as object).sort()).toEqual(peers.map((o: Doc) => o.name).sort());
    const hubSync = s.resources.find((r) => r.name === "master-hub-sync")!;
    const payload = JSON.parse(hubSync.inputs.stdin as string) as { peers: string };
    for (const o of peers) expect(payload.peers).toContain(`AllowedIPs = ${o.wireguard.address}/32`);
    expect(isSecretEnvelope(hubSync.inputs.stdin)).toBe(false); // public keys and addresses only
  });
});

describe("adding or removing a worker in prod", () => {
  const otherServerInputs = (s: Snapshot, except: string): Record<string, unknown> =>
    Object.fromEntries(s.resources.filter((r) => (r.name.startsWith("master-") || /^w\d-/.test(r.name) || r.name.startsWith("surgir-dedicated-")) && !r.name.startsWith(`${except}-`)).map((r) => [r.key, r.inputs]));

  it("changes no input of the master's server or of any other worker; only the hub's peer set updates", async () => {
    const base = await runDoc("prod", stackDoc("prod"));
    const grown = clone(stackDoc("prod")) as Doc;
    grown["supafleet:workers"].push({ name: "w4", serverType: "cx43", address: "10.100.0.5" });
    const shrunk = clone(stackDoc("prod")) as Doc;
    shrunk["supafleet:workers"] = shrunk["supafleet:workers"].filter((w: Doc) => w.name !== "w3");
    shrunk["supafleet:tenants"] = shrunk["supafleet:tenants"].filter((t: Doc) => t.slug !== "praxis-mueller");

    for (const [doc, changed] of [[grown, "w4"], [shrunk, "w3"]] as const) {
      const head = await runDoc("prod", doc);
      const all = diffSnapshots(base, head);
      const changes = all.filter((c) => !c.name.startsWith(`${changed}-`) && c.name !== changed && !c.name.startsWith("praxis") && !c.name.startsWith("edge-") && !c.name.startsWith("monitoring-"));
      expect(changes.map((c) => `${c.kind} ${c.name} ${c.paths.join(",")}`)).toEqual(["update master-hub-sync stdin.nftables,stdin.peers"]);
      // Monitoring gains or loses that worker's monitors (and, shrinking, its project's) and nothing else.
      // The internal page of nightly backups lists every job's backup monitor.
      const monitors = all.find((c) => c.name === "monitoring-reconcile")!.paths.filter((p) => p !== "stdin.secretsDigest" && !/^stdin\.statusPages\[(supafleet-backups\]\.groups\[nightly backups\]|supafleet-fleet\]\.groups)/.test(p));
      for (const p of monitors) expect(p).toMatch(new RegExp(`^stdin\\.monitors\\[(worker/${changed}|project/praxis|tenant/praxis-mueller|backup/praxis)[\\]/]`));
      const before = otherServerInputs(base, changed);
      const after = otherServerInputs(head, changed);
      for (const [k, v] of Object.entries(before)) {
        if (k.endsWith("::master-hub-sync")) continue;
        expect(after[k], k).toEqual(v);
      }
    }
  });
});
