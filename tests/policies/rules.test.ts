import { describe, expect, it } from "vitest";
import { Secret } from "@pulumi/policy";
import { everyProjectBackedUp } from "../../policies/rules/backups";
import { imagesPinned } from "../../policies/rules/containers";
import { firewallInboundOnlyWireguardAndSsh, firewallNoServicePorts, firewallSshFromOperators } from "../../policies/rules/firewall";
import { plainSecretMessage, plainSecretPaths, secretInputsAreSecret } from "../../policies/rules/secrets";
import { serverHasFirewallAndLabels, serverProtectedInProd, serverTypeAllowed } from "../../policies/rules/servers";
import { accessForProtectedHostnames, accessNeverEveryone, tunnelEndsWithCatchAll } from "../../policies/rules/tunnel";
import { T } from "../../policies/rules/types";
import { asRemediationProps, runRemediation, runResourcePolicy, runStackPolicy, type FakeResource } from "../helpers/policyHarness";

const fw = (rules: object[]): FakeResource => ({ type: T.firewall, name: "fw", props: { rules } });
const wireguard = { direction: "in", protocol: "udp", port: "51820", sourceIps: ["0.0.0.0/0", "::/0"] };
const ssh = { direction: "in", protocol: "tcp", port: "22", sourceIps: ["198.51.100.0/24"] };
const messages = (vs: { message: string }[]): string[] => vs.map((v) => v.message);

describe("firewall-inbound-only-wireguard-and-ssh", () => {
  it("passes WireGuard and SSH", async () => {
    expect(await runResourcePolicy(firewallInboundOnlyWireguardAndSsh, fw([wireguard, ssh]))).toEqual([]);
  });
  it("names any other inbound opening", async () => {
    const vs = await runResourcePolicy(firewallInboundOnlyWireguardAndSsh, fw([wireguard, { direction: "in", protocol: "tcp", port: "443", sourceIps: ["0.0.0.0/0"] }, { direction: "in", protocol: "icmp", sourceIps: ["0.0.0.0/0"] }]));
    expect(messages(vs)).toEqual([
      "Firewall fw: inbound tcp 443 is open; only Tactical RMM's node (label role=rmm) may open 80, 443 and 4222.",
      "Firewall fw: inbound icmp is open; only WireGuard (udp 51820) and SSH (tcp 22) may be.",
    ]);
  });
  it("lets Tactical RMM's node (role=rmm) open 80, 443 and 4222, and nothing more", async () => {
    const web = ["80", "443", "4222"].map((port) => ({ direction: "in", protocol: "tcp", port, sourceIps: ["0.0.0.0/0", "::/0"] }));
    const rmm = (rules: object[]): FakeResource => ({ type: T.firewall, name: "rmm-firewall", props: { rules, labels: { role: "rmm" } } });
    expect(await runResourcePolicy(firewallInboundOnlyWireguardAndSsh, rmm([wireguard, ...web]))).toEqual([]);
    expect(messages(await runResourcePolicy(firewallInboundOnlyWireguardAndSsh, rmm([{ direction: "in", protocol: "tcp", port: "80-443", sourceIps: ["0.0.0.0/0"] }, { direction: "in", protocol: "tcp", port: "8080", sourceIps: ["0.0.0.0/0"] }])))).toEqual([
      "Firewall rmm-firewall: inbound tcp 80-443 is open; only WireGuard (udp 51820) and SSH (tcp 22) may be, and 80, 443 and 4222 on Tactical RMM's node.",
      "Firewall rmm-firewall: inbound tcp 8080 is open; only WireGuard (udp 51820) and SSH (tcp 22) may be, and 80, 443 and 4222 on Tactical RMM's node.",
    ]);
    // The same rules on a worker's firewall are refused.
    const worker: FakeResource = { type: T.firewall, name: "w1-firewall", props: { rules: [wireguard, ...web], labels: { role: "worker" } } };
    expect(await runResourcePolicy(firewallInboundOnlyWireguardAndSsh, worker)).toHaveLength(3);
  });
  it("reads the WireGuard port from the stack's config, so a moved port is allowed and the old one is not", async () => {
    const moved = { ...wireguard, port: "41820" };
    expect(await runResourcePolicy(firewallInboundOnlyWireguardAndSsh, fw([moved, ssh]), { wireguardPort: 41820 })).toEqual([]);
    expect(messages(await runResourcePolicy(firewallInboundOnlyWireguardAndSsh, fw([wireguard, ssh]), { wireguardPort: 41820 }))).toEqual([
      "Firewall fw: inbound udp 51820 is open; only WireGuard (udp 41820) and SSH (tcp 22) may be.",
    ]);
  });
  it("refuses a range that merely contains 22", async () => {
    expect(messages(await runResourcePolicy(firewallInboundOnlyWireguardAndSsh, fw([{ ...ssh, port: "20-25" }])))).toEqual([
      "Firewall fw: inbound tcp 20-25 is open; only WireGuard (udp 51820) and SSH (tcp 22) may be.",
    ]);
  });
});

describe("firewall-ssh-from-operators", () => {
  const config = { operatorRanges: ["198.51.100.0/24", "2001:db8:1200::/48"] };
  it("passes SSH from an operator range or a narrower one inside it", async () => {
    expect(await runResourcePolicy(firewallSshFromOperators, fw([{ ...ssh, sourceIps: ["198.51.100.0/24", "198.51.100.16/28", "2001:db8:1200:5::/64"] }]), config)).toEqual([]);
  });
  it("refuses SSH from the whole internet", async () => {
    expect(messages(await runResourcePolicy(firewallSshFromOperators, fw([{ ...ssh, sourceIps: ["0.0.0.0/0", "::/0"] }]), config))).toEqual([
      "Firewall fw: SSH is open to the whole internet (0.0.0.0/0); it must come from the operators' ranges only.",
      "Firewall fw: SSH is open to the whole internet (::/0); it must come from the operators' ranges only.",
    ]);
  });
  it("refuses SSH from a range that is not an operator's", async () => {
    expect(messages(await runResourcePolicy(firewallSshFromOperators, fw([{ ...ssh, sourceIps: ["203.0.113.0/24"] }]), config))).toEqual([
      "Firewall fw: SSH is open to 203.0.113.0/24, which is not one of the operators' ranges (198.51.100.0/24, 2001:db8:1200::/48).",
    ]);
  });
});

describe("firewall-no-service-ports", () => {
  it("passes WireGuard and SSH", async () => {
    expect(await runResourcePolicy(firewallNoServicePorts, fw([wireguard, ssh]))).toEqual([]);
  });
  it("refuses 5432 whatever the source, and a range or 'any' that covers a service port", async () => {
    const vs = await runResourcePolicy(firewallNoServicePorts, fw([
      { direction: "in", protocol: "tcp", port: "5432", sourceIps: ["10.0.0.0/8"] },
      { direction: "in", protocol: "tcp", port: "7999-8001", sourceIps: ["198.51.100.0/24"] },
      { direction: "out", protocol: "udp", port: "any", destinationIps: ["0.0.0.0/0"] },
    ]));
    expect(messages(vs)).toEqual([
      "Firewall fw: in tcp 5432 opens 5432 (Postgres); database, pooler, gateway and Studio ports are never opened.",
      "Firewall fw: in tcp 7999-8001 opens 8000 (the API gateway); database, pooler, gateway and Studio ports are never opened.",
      "Firewall fw: out udp any opens 5432 (Postgres); database, pooler, gateway and Studio ports are never opened.",
      "Firewall fw: out udp any opens 6543 (the pooler); database, pooler, gateway and Studio ports are never opened.",
      "Firewall fw: out udp any opens 8000 (the API gateway); database, pooler, gateway and Studio ports are never opened.",
      "Firewall fw: out udp any opens 8443 (the API gateway's TLS port); database, pooler, gateway and Studio ports are never opened.",
      "Firewall fw: out udp any opens 3000 (Studio); database, pooler, gateway and Studio ports are never opened.",
    ]);
  });
});

const server = (props: Record<string, unknown>): FakeResource => ({ type: T.server, name: "w1-server", props: { serverType: "cx33", firewallIds: [42], labels: { role: "worker", env: "prod" }, deleteProtection: true, rebuildProtection: true, ...props } });

describe("server-has-firewall-and-labels", () => {
  it("passes a server with a firewall and both labels", async () => {
    expect(await runResourcePolicy(serverHasFirewallAndLabels, server({}))).toEqual([]);
  });
  it("names a missing firewall and missing labels", async () => {
    expect(messages(await runResourcePolicy(serverHasFirewallAndLabels, server({ firewallIds: [], labels: {} })))).toEqual([
      "Server w1-server: has no firewall (firewallIds is empty).",
      'Server w1-server: lacks the label "role".',
      'Server w1-server: lacks the label "env".',
    ]);
  });
});

describe("server-protected-in-prod", () => {
  it("passes a protected prod server and an unprotected staging one", async () => {
    expect(await runResourcePolicy(serverProtectedInProd, server({}))).toEqual([]);
    expect(await runResourcePolicy(serverProtectedInProd, server({ labels: { role: "worker", env: "staging" }, deleteProtection: false, rebuildProtection: false }))).toEqual([]);
  });
  it("refuses an unprotected prod server", async () => {
    expect(messages(await runResourcePolicy(serverProtectedInProd, server({ deleteProtection: false, rebuildProtection: false })))).toEqual([
      "Server w1-server: is in prod without delete protection.",
      "Server w1-server: is in prod without rebuild protection.",
    ]);
  });
});

describe("server-type-allowed (advisory)", () => {
  it("is advisory", () => expect(serverTypeAllowed.enforcementLevel).toBe("advisory"));
  it("passes an allowed type and names one that is not", async () => {
    expect(await runResourcePolicy(serverTypeAllowed, server({}), { allowedServerTypes: ["cx33"] })).toEqual([]);
    expect(messages(await runResourcePolicy(serverTypeAllowed, server({ serverType: "cx22" }), { allowedServerTypes: ["cx33", "cx43"] }))).toEqual([
      "Server w1-server: type cx22 is not in the allowed list (cx33, cx43).",
    ]);
  });
});

describe("every-project-backed-up", () => {
  const project = (name: string): FakeResource => ({ type: T.project, name, props: {} });
  const backup = (job: string, retention: object): FakeResource => ({ type: T.backup, name: `${job}-backup`, props: { job, retention } });
  it("passes projects whose schedules keep 7/4/6 or more", async () => {
    expect(await runStackPolicy(everyProjectBackedUp, [project("ops"), backup("ops", { daily: 7, weekly: 4, monthly: 6 }), project("crm"), backup("crm", { daily: 14, weekly: 8, monthly: 12 })])).toEqual([]);
  });
  it("names a project without a schedule and a schedule that keeps too little", async () => {
    const vs = await runStackPolicy(everyProjectBackedUp, [project("ops"), project("crm"), backup("crm", { daily: 3, weekly: 4, monthly: 1 })]);
    expect(vs).toEqual([
      { policy: "every-project-backed-up", message: "SupabaseProject ops has no BackupSchedule.", urn: `urn:pulumi:test::supafleet::${T.project}::ops` },
      { policy: "every-project-backed-up", message: "BackupSchedule crm-backup keeps 3 daily backups; at least 7 are required.", urn: `urn:pulumi:test::supafleet::${T.backup}::crm-backup` },
      { policy: "every-project-backed-up", message: "BackupSchedule crm-backup keeps 1 monthly backups; at least 6 are required.", urn: `urn:pulumi:test::supafleet::${T.backup}::crm-backup` },
    ]);
  });
  it("takes its minimum from the policy config", async () => {
    const vs = await runStackPolicy(everyProjectBackedUp, [project("ops"), backup("ops", { daily: 7, weekly: 4, monthly: 6 })], { minRetention: { daily: 14, weekly: 4, monthly: 6 } });
    expect(messages(vs)).toEqual(["BackupSchedule ops-backup keeps 7 daily backups; at least 14 are required."]);
  });
});

const tunnel = (ingresses: object[]): FakeResource => ({ type: T.tunnelConfig, name: "edge-config", props: { config: { ingresses } } });

describe("tunnel-ends-with-catch-all", () => {
  it("passes rules that end with the single catch-all", async () => {
    expect(await runResourcePolicy(tunnelEndsWithCatchAll, tunnel([{ hostname: "ops.example.org", service: "http://10.100.0.2:20010" }, { service: "http_status:404" }]))).toEqual([]);
  });
  it("names a missing catch-all and a catch-all that is not last", async () => {
    expect(messages(await runResourcePolicy(tunnelEndsWithCatchAll, tunnel([{ service: "http_status:404" }, { hostname: "ops.example.org", service: "http://10.100.0.2:20010" }])))).toEqual([
      "Tunnel config edge-config: the last ingress rule must be the catch-all (no hostname, no path, an http_status service).",
      "Tunnel config edge-config: rule #1 has no hostname but is not last, so it hides every rule after it.",
    ]);
  });
});

describe("access-for-protected-hostnames", () => {
  const app = (domain: string): FakeResource => ({ type: T.accessApp, name: `app-${domain}`, props: { domain } });
  const rules = [{ hostname: "ops.example.org" }, { hostname: "ops-studio.example.org" }, { hostname: "n8n.example.org" }, { hostname: "status.example.org" }, { service: "http_status:404" }];
  it("passes when every Studio, n8n and status hostname has an application, and the API has none", async () => {
    expect(await runStackPolicy(accessForProtectedHostnames, [tunnel(rules), app("ops-studio.example.org"), app("n8n.example.org"), app("status.example.org")])).toEqual([]);
  });
  it("names each protected hostname without one", async () => {
    expect(messages(await runStackPolicy(accessForProtectedHostnames, [tunnel(rules), app("n8n.example.org")]))).toEqual([
      "Hostname ops-studio.example.org is routed by the tunnel but has no Access application.",
      "Hostname status.example.org is routed by the tunnel but has no Access application.",
    ]);
  });
});

describe("access-never-everyone", () => {
  it("passes email and service-token policies", async () => {
    expect(await runResourcePolicy(accessNeverEveryone, { type: T.accessPolicy, name: "ops", props: { decision: "allow", includes: [{ email: { email: "a@example.org" } }, { emailDomain: { domain: "example.org" } }] } })).toEqual([]);
  });
  it("refuses a reusable or an inline policy that includes everyone", async () => {
    expect(messages(await runResourcePolicy(accessNeverEveryone, { type: T.accessPolicy, name: "open", props: { decision: "allow", includes: [{ everyone: {} }] } }))).toEqual(["Access policy open: includes everyone."]);
    expect(messages(await runResourcePolicy(accessNeverEveryone, { type: T.accessApp, name: "app", props: { policies: [{ decision: "bypass", includes: [{ everyone: {} }] }] } }))).toEqual([
      "Access application app: has a policy that includes everyone.",
    ]);
  });
});

describe("container-images-pinned", () => {
  const container = (image: string): FakeResource => ({ type: "docker:index/container:Container", name: "ops-db", props: { image } });
  it("passes a version tag, a registry with a port, and a digest", async () => {
    for (const image of ["supabase/postgres:15.8.1.085", "registry.example.org:5000/team/app:1.2.3", `kong@sha256:${"a".repeat(64)}`]) {
      expect(await runResourcePolicy(imagesPinned, container(image)), image).toEqual([]);
    }
  });
  it("refuses latest and a missing tag, wherever the image sits", async () => {
    expect(messages(await runResourcePolicy(imagesPinned, container("supabase/studio:latest")))).toEqual(['ops-db: image "supabase/studio:latest" uses the latest tag; pin an explicit version tag or a digest.']);
    expect(messages(await runResourcePolicy(imagesPinned, container("registry.example.org:5000/team/app")))).toEqual(['ops-db: image "registry.example.org:5000/team/app" has no tag; pin an explicit version tag or a digest.']);
    expect(messages(await runResourcePolicy(imagesPinned, { type: "docker:index/remoteImage:RemoteImage", name: "img", props: { name: "kong" } }))).toEqual(['img: image "kong" has no tag; pin an explicit version tag or a digest.']);
    expect(messages(await runResourcePolicy(imagesPinned, { type: "command:remote:Command", name: "stack", props: { triggers: [{ services: { db: { image: "postgres" } } }] } }))).toEqual(['stack: image "postgres" has no tag; pin an explicit version tag or a digest.']);
    const composeText = "services:\n  db:\n    image: supabase/postgres:15.8.1.085\n  studio:\n    image: \"supabase/studio\"\n";
    expect(messages(await runResourcePolicy(imagesPinned, { type: "command:remote:Command", name: "ops-deploy", props: { stdin: composeText } }))).toEqual(['ops-deploy: image "supabase/studio" has no tag; pin an explicit version tag or a digest.']);
  });
});

describe("secret-inputs-are-secret (remediate)", () => {
  const box = (password: unknown, envs: unknown[] = []): FakeResource => ({ type: "hcloud:index/storageBox:StorageBox", name: "backups", props: { name: "box", password, envs, accessSettings: { sshEnabled: true } } });
  it("leaves inputs that are already secrets alone", async () => {
    expect(await runRemediation(secretInputsAreSecret, box({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: "s3cr3t" }))).toBeUndefined();
  });
  it("names plain-text secrets, including KEY=value environment entries", () => {
    const paths = plainSecretPaths(asRemediationProps(box("s3cr3t", ["POSTGRES_PASSWORD=x", "PGRST_DB_SCHEMAS=public"]).props));
    expect(paths).toEqual(["password", "envs[0] (POSTGRES_PASSWORD)"]);
    expect(plainSecretMessage("backups", paths)).toBe("backups: password, envs[0] (POSTGRES_PASSWORD) are secrets given in plain text; pass them as a Pulumi secret.");
  });
  it("turns plain-text secrets into Pulumi secrets and touches nothing else", async () => {
    const fixed = await runRemediation(secretInputsAreSecret, box("s3cr3t", ["POSTGRES_PASSWORD=x", "PGRST_DB_SCHEMAS=public"]));
    expect(fixed!.password).toEqual(new Secret("s3cr3t"));
    expect(fixed!.envs).toEqual([new Secret("POSTGRES_PASSWORD=x"), "PGRST_DB_SCHEMAS=public"]);
    expect(fixed!.name).toBe("box");
    expect(fixed!.accessSettings).toEqual({ sshEnabled: true });
  });
});
