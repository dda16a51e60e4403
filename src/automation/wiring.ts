import type * as pulumi from "@pulumi/pulumi";
import { Automations } from "../../components/Automations";
import type { BackupAlerting } from "../../components/BackupSchedule";
import type { MasterNode } from "../../components/MasterNode";
import type { SupabaseProject } from "../../components/SupabaseProject";
import type { FleetModel } from "../model/fleet";
import { BACKUP_STATUS_PAGE, KUMA_PORT } from "../monitoring/kuma";
import { GATE_PORT, type WebhookGate } from "./webhookGate";
import type { AutomationSettings } from "./workflows";

/** The TRMM workflow's webhook path; the gate lets nothing else through. */
export const TRMM_WEBHOOK_PATH = "/webhook/supafleet/trmm";

/** Where TRMM posts its alerts: the gate on the hub's mesh address, never the internet. */
export function trmmAlertWebhookUrl(model: FleetModel): string {
  return `http://${model.wireguard.hub}:${GATE_PORT}${TRMM_WEBHOOK_PATH}`;
}

/** "07:30" as n8n's cron (UTC, like every other schedule of the fleet). */
export function dailyCron(time: string): string {
  const [h, m] = time.split(":").map(Number) as [number, number];
  return `${m} ${h} * * *`;
}

export function automationSettings(model: FleetModel, ntfyToken: boolean): AutomationSettings {
  const a = model.config.automations;
  const ops = a.opsProject !== undefined ? model.projects.find((p) => p.name === a.opsProject) : undefined;
  const ntfy = model.config.alerting.ntfy;
  return {
    // The ops project's gateway as the master reaches it: over the mesh, not through the tunnel.
    ...(ops !== undefined ? { opsUrl: `http://${ops.worker.address}:${ops.ports.gateway}` } : {}),
    ...(a.billing !== undefined ? { gatewayUrl: a.billing.gatewayUrl } : {}),
    kumaUrl: `http://${model.wireguard.hub}:${KUMA_PORT}`,
    backupStatusPage: BACKUP_STATUS_PAGE,
    reportCron: dailyCron(a.reportTime),
    pollSeconds: a.pollSeconds,
    ...(ntfy !== undefined ? { ntfyUrl: `${ntfy.server.replace(/\/+$/, "")}/${ntfy.topic}`, ntfyAuth: ntfyToken } : {}),
    ...(model.config.alerting.telegram !== undefined ? { telegramChatId: model.config.alerting.telegram.chatId } : {}),
    teamName: `supafleet ${model.env}`,
  };
}

export function webhookGate(model: FleetModel): WebhookGate | undefined {
  if (model.rmm === undefined) return undefined;
  return { listen: `${model.wireguard.hub}:${GATE_PORT}`, routes: [{ source: model.rmm.address, paths: [TRMM_WEBHOOK_PATH] }] };
}

interface AutomationParts {
  readonly master: MasterNode;
  readonly projects: ReadonlyMap<string, SupabaseProject>;
  readonly alerting: BackupAlerting;
  readonly after: pulumi.Input<pulumi.Resource>[];
}

export function buildAutomations(model: FleetModel, f: AutomationParts): Automations {
  const ops = model.config.automations.opsProject;
  const secrets: Record<string, pulumi.Input<string>> = {};
  if (ops !== undefined) secrets.opsServiceKey = f.projects.get(ops)!.serviceRoleKey;
  if (f.alerting.ntfyToken !== undefined) secrets.ntfyToken = f.alerting.ntfyToken;
  if (f.alerting.telegramToken !== undefined) secrets.telegramBotToken = f.alerting.telegramToken;
  const gate = webhookGate(model);
  return new Automations("automations", {
    ssh: f.master.ssh,
    after: f.after,
    hostname: model.hostnames.n8n,
    ownerEmail: model.operators[0]!.email,
    ...(gate !== undefined ? { gate } : {}),
    settings: automationSettings(model, f.alerting.ntfyToken !== undefined),
    secrets,
  });
}
