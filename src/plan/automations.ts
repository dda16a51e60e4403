import { GATE_PORT, TRMM_WEBHOOK_PATH, type WebhookGate } from "../automation/webhookGate";
import type { AutomationSettings } from "../automation/workflows";
import type { FleetConfig } from "../config/schema";
import { BACKUP_STATUS_PAGE, KUMA_PORT } from "../monitoring/kuma";
import type { AlertingPlan, AutomationsPlan, ProjectPlan, RmmPlan } from "./types";

/** Where TRMM posts its alerts: the gate on the hub's mesh address, never the internet. */
export function trmmAlertWebhookUrl(hub: string): string {
  return `http://${hub}:${GATE_PORT}${TRMM_WEBHOOK_PATH}`;
}

/** "07:30" as n8n's cron (UTC, like every other schedule of the fleet). */
export function dailyCron(time: string): string {
  const [h, m] = time.split(":").map(Number) as [number, number];
  return `${m} ${h} * * *`;
}

interface AutomationInputs {
  readonly env: string;
  readonly hub: string;
  readonly n8nHostname: string;
  readonly ownerEmail: string;
  readonly projects: readonly ProjectPlan[];
  readonly alerting: AlertingPlan;
  readonly rmm?: RmmPlan;
}

export function planAutomations(a: FleetConfig["automations"], f: AutomationInputs): AutomationsPlan {
  const ops = a.opsProject !== undefined ? f.projects.find((p) => p.name === a.opsProject) : undefined;
  const registry = a.registryProject !== undefined ? f.projects.find((p) => p.name === a.registryProject) : undefined;
  const ntfy = f.alerting.ntfy;
  const settings: AutomationSettings = {
    // The ops project's gateway as the master reaches it: over the mesh, not through the tunnel.
    ...(ops !== undefined ? { opsUrl: `http://${ops.worker.address}:${ops.ports.gateway}` } : {}),
    ...(a.billing !== undefined ? { gatewayUrl: a.billing.gatewayUrl } : {}),
    kumaUrl: `http://${f.hub}:${KUMA_PORT}`,
    backupStatusPage: BACKUP_STATUS_PAGE,
    reportCron: dailyCron(a.reportTime),
    pollSeconds: a.pollSeconds,
    ...(ntfy !== undefined ? { ntfyUrl: ntfy.url, ntfyAuth: ntfy.token } : {}),
    ...(f.alerting.telegramChat !== undefined ? { telegramChatId: f.alerting.telegramChat } : {}),
    teamName: `supafleet ${f.env}`,
    ...(f.rmm !== undefined ? { trmmAddress: f.rmm.address } : {}),
    // The welcome goes out as the registry project's own Auth mails do: its SMTP server and sender.
    ...(registry !== undefined
      ? {
          registry: {
            url: `http://${registry.worker.address}:${registry.ports.gateway}`,
            siteUrl: registry.auth.siteUrl,
            senderName: registry.smtp.senderName,
            senderEmail: registry.smtp.adminEmail,
            smtp: { host: registry.smtp.host, port: registry.smtp.port, user: registry.smtp.user },
          },
        }
      : {}),
  };
  const gate: WebhookGate | undefined = f.rmm !== undefined ? { listen: `${f.hub}:${GATE_PORT}`, routes: [{ source: f.rmm.address, paths: [TRMM_WEBHOOK_PATH] }] } : undefined;
  return {
    hostname: f.n8nHostname,
    ownerEmail: f.ownerEmail,
    ...(a.opsProject !== undefined ? { opsProject: a.opsProject } : {}),
    ...(a.registryProject !== undefined ? { registryProject: a.registryProject } : {}),
    ...(gate !== undefined ? { gate } : {}),
    settings,
    ...(f.rmm !== undefined ? { trmmWebhookUrl: f.rmm.alertWebhookUrl } : {}),
  };
}
