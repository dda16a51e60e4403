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
};
const names = (d: { workflows: object[] }): string[] => d.workflows.map((w) => (w as Doc).id).sort();
const credentialIds = (d: { workflows: object[] }): string[] => [...new Set(d.workflows.flatMap((w) => (w as Doc).nodes.flatMap((n: Doc) => Object.values(n.credentials ?? {}).map((c: any) => c.id))))].sort();

describe("the n8n workflows as rendered", () => {
  it("are the four, with every setting filled and secrets only as references in the credentials", () => {
    const d = n8nDesired(settings);
    expect(names(d)).toEqual(["sfWfBackupRepo01", "sfWfBilling00001", "sfWfOnboarding01", "sfWfTrmmIngest01"].sort());
    const text = JSON.stringify(d.workflows);
    expect(text).not.toContain("${setting:");
    expect(text).not.toContain("${secret:");
    // The fields that hold a secret hold only its reference; the reconcile fills them on the master.
    const secretFields = ["serviceRole", "value", "secret", "token", "accessToken"];
    for (const c of d.credentials as Doc[]) {
      for (const [k, v] of Object.entries(c.data as Doc)) if (secretFields.includes(k)) expect(v, `${c.id}.${k}`).toMatch(/^\$\{secret:[A-Za-z]+\}$/);
    }
    // Every credential a node uses is one the reconcile creates.
    expect(credentialIds(d)).toEqual((d.credentials as Doc[]).map((c) => c.id).sort());
  });

  it("without an ops project run only the backup report; without a gateway, no billing", () => {
    const { opsUrl: _ops, ...noOps } = settings;
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
  it("renders prod's four workflows and staging's three (staging never bills)", async () => {
    prod = await runDoc("prod", stackDoc("prod"));
    const staging = await runDoc("staging", stackDoc("staging"));
    const workflows = (s: Snapshot): string[] => [...((s.outputs as Doc).automations.workflows as string[])].sort();
    expect(workflows(prod)).toHaveLength(4);
    expect(workflows(staging)).toHaveLength(3);
    expect(workflows(staging).join(" ")).not.toMatch(/billing/i);
    const reconcile = prod.resources.find((r) => r.name === "automations-reconcile")!;
    const desired = JSON.parse(reconcile.inputs.stdin as string) as Doc;
    expect(desired.workflows.map((w: Doc) => w.id).sort()).toEqual(["sfWfBackupRepo01", "sfWfBilling00001", "sfWfOnboarding01", "sfWfTrmmIngest01"].sort());
    // The update script carries the run's stamp: the reconcile runs on every pulumi up.
    expect(reconcile.inputs.update as string).toMatch(/^#!\/usr\/bin\/env bash\n# supafleet: re-applied on every pulumi up \(offline plan\)\n# supafleet: make n8n match/);
  });
});
