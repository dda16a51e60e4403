import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { n8nDesired, type AutomationSettings } from "../../src/automation/workflows";
import { n8nCompose, n8nEnvironment, N8N_IMAGE } from "../../src/automation/n8nCompose";
import type { Snapshot } from "../../src/offline/run";
import { runDoc } from "../helpers/offline";
import { stackDoc } from "../helpers/stacks";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = Record<string, any>;

const settings: AutomationSettings = {
  opsUrl: "http://10.100.0.2:20010",
  gatewayUrl: "https://billing.example.com/hook",
  kumaUrl: "http://10.100.0.1:3001",
  backupStatusPage: "supafleet-backups",
  reportCron: "0 7 * * *",
  pollSeconds: 30,
  ntfyUrl: "https://ntfy.sh/fleet",
  telegramChatId: "-100123",
  teamName: "supafleet prod",
  trmmAddress: "10.100.0.200",
  registry: { url: "http://10.100.0.3:20020", siteUrl: "https://app.example.com", senderName: "Tech Hilfe Pro", senderEmail: "admin@example.com", smtp: { host: "smtp.example.com", port: 587, user: "noreply@example.com" } },
};
const ALL = ["sfWfBackupRepo01", "sfWfBilling00001", "sfWfOnboarding01", "sfWfTrmmIngest01", "sfWfTenantSignup", "sfWfTrialExpiry1"].sort();
const workflow = (d: { workflows: object[] }, id: string): Doc => d.workflows.find((w) => (w as Doc).id === id) as Doc;
const credential = (d: { credentials: object[] }, id: string): Doc => d.credentials.find((c) => (c as Doc).id === id) as Doc;
const names = (d: { workflows: object[] }): string[] => d.workflows.map((w) => (w as Doc).id).sort();
const credentialIds = (d: { workflows: object[] }): string[] => [...new Set(d.workflows.flatMap((w) => (w as Doc).nodes.flatMap((n: Doc) => Object.values(n.credentials ?? {}).map((c: any) => c.id))))].sort();

describe("the n8n workflows as rendered", () => {
  it("are the six, with every setting filled and secrets only as references in the credentials", () => {
    const d = n8nDesired(settings);
    expect(names(d)).toEqual(ALL);
    for (const w of d.workflows as Doc[]) expect(w.id, w.name).toHaveLength(16);
    const text = JSON.stringify(d.workflows);
    expect(text).not.toContain("${setting:");
    expect(text).not.toContain("${secret:");
    // The fields that hold a secret hold only its reference; the reconcile fills them on the master.
    const secretFields = ["serviceRole", "value", "secret", "token", "accessToken", "password"];
    for (const c of d.credentials as Doc[]) {
      for (const [k, v] of Object.entries(c.data as Doc)) if (secretFields.includes(k)) expect(v, `${c.id}.${k}`).toMatch(/^\$\{secret:[A-Za-z]+\}$/);
    }
    // Every credential a node uses is one the reconcile creates.
    expect(credentialIds(d)).toEqual((d.credentials as Doc[]).map((c) => c.id).sort());
  });

  it("TRMM's webhook trusts the gate: no secret of its own, and only TRMM's address as the gate reports it", () => {
    const d = n8nDesired(settings);
    const hook = (workflow(d, "sfWfTrmmIngest01").nodes as Doc[]).find((n) => n.type === "n8n-nodes-base.webhook")!;
    expect(hook.parameters).toMatchObject({ authentication: "none", options: { ipWhitelist: "10.100.0.200" } });
    expect(hook.credentials).toBeUndefined();
    expect(JSON.stringify(d)).not.toContain("trmmWebhookSecret");
    // Without TRMM on the mesh there is no gate, and no TRMM workflow.
    const { trmmAddress: _a, ...noRmm } = settings;
    expect(names(n8nDesired(noRmm))).not.toContain("sfWfTrmmIngest01");
    expect(() => n8nDesired({ ...settings, trmmAddress: "10.100.0.200/32" })).toThrow(/trmmAddress must be an IPv4 address/);
  });

  it("sign-up and trial expiry drain the registry project's outbox with its own key, and welcome by its SMTP server", () => {
    const d = n8nDesired(settings);
    for (const id of ["sfWfTenantSignup", "sfWfTrialExpiry1"]) {
      const urls = (workflow(d, id).nodes as Doc[]).map((n) => n.parameters.url).filter((u): u is string => typeof u === "string" && u.includes("/rest/v1/rpc/"));
      expect(urls.length, id).toBeGreaterThan(0);
      for (const u of urls) expect(u.startsWith("http://10.100.0.3:20020/rest/v1/rpc/"), u).toBe(true);
    }
    const claims = ["sfWfTenantSignup", "sfWfTrialExpiry1"].map((id) => JSON.parse((workflow(d, id).nodes as Doc[]).find((n) => n.name === "Claim")!.parameters.jsonBody).p_topic);
    expect(claims).toEqual(["tenant.signup", "tenant.trial_expired"]);
    expect(credential(d, "sfCredRegistry01").data).toEqual({ host: "http://10.100.0.3:20020", serviceRole: "${secret:registryServiceKey}" });
    // 587 upgrades with STARTTLS; 465 is TLS from the start.
    expect(credential(d, "sfCredRegSmtp001").data).toEqual({ host: "smtp.example.com", port: 587, user: "noreply@example.com", password: "${secret:registrySmtpPassword}", secure: false });
    const tls = n8nDesired({ ...settings, registry: { ...settings.registry!, smtp: { ...settings.registry!.smtp, port: 465 } } });
    expect(credential(tls, "sfCredRegSmtp001").data.secure).toBe(true);
    const welcome = (workflow(d, "sfWfTenantSignup").nodes as Doc[]).find((n) => n.name === "Welcome")!;
    expect(welcome.parameters.fromEmail).toBe('"Tech Hilfe Pro" <admin@example.com>');
    expect(welcome.parameters.text).toContain("Sign in at https://app.example.com\n");
    const { registry: _r, ...noRegistry } = settings;
    expect(names(n8nDesired(noRegistry))).toEqual(ALL.filter((w) => w !== "sfWfTenantSignup" && w !== "sfWfTrialExpiry1"));
    expect(credentialIds(n8nDesired(noRegistry))).not.toContain("sfCredRegistry01");
    expect(() => n8nDesired({ ...settings, registry: { ...settings.registry!, senderName: "x {{ 1 }}" } })).toThrow(/registry.senderName must not contain \{\{/);
  });

  it("without an ops project run only the backup report; without a gateway, no billing", () => {
    const { opsUrl: _ops, registry: _reg, ...noOps } = settings;
    expect(names(n8nDesired(noOps))).toEqual(["sfWfBackupRepo01"]);
    const { gatewayUrl: _gw, ...noGateway } = settings;
    expect(names(n8nDesired(noGateway))).not.toContain("sfWfBilling00001");
  });

  it("send no Authorization header to an open ntfy topic, and drop a notifier that is not configured", () => {
    const open = n8nDesired({ ...settings, ntfyAuth: false });
    expect(credentialIds(open)).not.toContain("sfCredNtfyToken1");
    const ntfy = (open.workflows as Doc[]).flatMap((w) => w.nodes).filter((n: Doc) => n.parameters?.url === settings.ntfyUrl);
    expect(ntfy.length).toBeGreaterThan(0);
    for (const n of ntfy) expect(n.parameters.authentication).toBe("none");
    const { telegramChatId: _t, ...noTelegram } = settings;
    expect(credentialIds(n8nDesired(noTelegram))).not.toContain("sfCredTelegram01");
  });

  it("refuse a setting that would break out of an n8n expression", () => {
    expect(() => n8nDesired({ ...settings, teamName: "x {{ $env }}" })).toThrow(/must not contain \{\{/);
  });
});

describe("n8n's Compose file", () => {
  it("pins the image, listens on loopback and sets the hardening environment", () => {
    const doc = parse(n8nCompose("n8n.example.com", undefined)) as Doc;
    const n8n = doc.services.n8n;
    expect(n8n.image).toBe(N8N_IMAGE);
    expect(N8N_IMAGE).toMatch(/^n8nio\/n8n:\d+\.\d+\.\d+$/);
    expect(n8n.network_mode).toBe("host");
    expect(n8n.ports).toBeUndefined();
    expect(n8n.environment).toMatchObject({
      N8N_LISTEN_ADDRESS: "127.0.0.1",
      WEBHOOK_URL: "https://n8n.example.com/",
      N8N_PROXY_HOPS: "1",
      N8N_BLOCK_ENV_ACCESS_IN_NODE: "true",
      N8N_DIAGNOSTICS_ENABLED: "false",
      N8N_PUBLIC_API_DISABLED: "true",
    });
    // The key comes from the root-only env file, never from the Compose file.
    expect(JSON.stringify(doc)).not.toContain("N8N_ENCRYPTION_KEY");
    expect(doc.services.gate).toBeUndefined();
    expect(n8nEnvironment("x.example.com").NODES_EXCLUDE).toContain("n8n-nodes-base.executeCommand");
  });
});

describe("the plan", () => {
  let prod: Snapshot;
  it("renders prod's six workflows and staging's four (staging never bills and has no TRMM)", async () => {
    prod = await runDoc("prod", stackDoc("prod"));
    const staging = await runDoc("staging", stackDoc("staging"));
    const workflows = (s: Snapshot): string[] => [...((s.outputs as Doc).automations.workflows as string[])].sort();
    expect(workflows(prod)).toHaveLength(6);
    expect(workflows(staging)).toHaveLength(4);
    expect(workflows(staging).join(" ")).not.toMatch(/billing|TRMM/i);
    const reconcile = prod.resources.find((r) => r.name === "automations-reconcile")!;
    const desired = JSON.parse(reconcile.inputs.stdin as string) as Doc;
    expect(desired.workflows.map((w: Doc) => w.id).sort()).toEqual(["sfWfBackupRepo01", "sfWfBilling00001", "sfWfOnboarding01", "sfWfTenantSignup", "sfWfTrialExpiry1", "sfWfTrmmIngest01"].sort());
    // The update script carries the run's stamp: the reconcile runs on every pulumi up.
    expect(reconcile.inputs.update as string).toMatch(/^#!\/usr\/bin\/env bash\n# supafleet: re-applied on every pulumi up \(offline plan\)\n# supafleet: make n8n match/);
  });

  it("puts the TRMM secret in the gate's root-only config: redacted in the render", () => {
    const gate = prod.files.find((f) => f.path.endsWith("automation/webhook-gate.json"))!;
    const trmm = (JSON.parse(gate.content) as Doc).apps.http.servers.gate.routes[0];
    expect(trmm.handle[0].routes[0].match).toEqual([{ header: { "X-Supafleet-Webhook-Secret": ["<redacted:trmmWebhookSecret>"] } }]);
    for (const v of prod.secretValues) expect(gate.content.includes(v), "a secret in the rendered gate config").toBe(false);
    const compose = prod.files.find((f) => f.path.endsWith("automation/n8n-compose.yaml"))!;
    expect((parse(compose.content) as Doc).services.gate.volumes).toEqual(["/etc/supafleet/automation/gate.json:/etc/caddy/gate.json:ro"]);
  });

  it("with automations.registryProject, renders the sign-up and trial workflows against that project", async () => {
    const doc = stackDoc("prod");
    (doc["supafleet:automations"] as Doc).registryProject = "registry";
    const s = await runDoc("prod", doc);
    expect(s.error).toBeUndefined();
    const desired = JSON.parse(s.resources.find((r) => r.name === "automations-reconcile")!.inputs.stdin as string) as Doc;
    expect(desired.workflows.map((w: Doc) => w.id).sort()).toEqual(ALL);
    const registry = desired.credentials.find((c: Doc) => c.id === "sfCredRegistry01");
    expect(registry.data.host).toMatch(/^http:\/\/10\.100\.0\.\d+:\d+$/);
    // The master's secrets file (a secret input) fills those credentials; the TRMM secret is not in it: only the gate has it.
    const file = JSON.parse((s.resources.find((r) => r.name === "automations-secrets")!.inputs.stdin as { value: string }).value) as Doc;
    expect(Object.keys(file.values).sort()).toEqual(["billingHmacSecret", "ntfyToken", "opsServiceKey", "registryServiceKey", "registrySmtpPassword", "telegramBotToken"]);
    (doc["supafleet:automations"] as Doc).registryProject = "ops";
    expect((await runDoc("prod", doc)).error).toMatch(/automations\.registryProject: project ops lacks the tenant-registry schema pack/);
    (doc["supafleet:automations"] as Doc).registryProject = "nowhere";
    expect((await runDoc("prod", doc)).error).toMatch(/automations\.registryProject: no project is named "nowhere"/);
  });
});
