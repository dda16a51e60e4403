import type * as pulumi from "@pulumi/pulumi";
import { Automations } from "../../components/Automations";
import { Monitoring } from "../../components/Monitoring";
import { TunnelIngress } from "../../components/TunnelIngress";
import { agentPushId, backupPushId, dashboardPasswordSecret, pushSecret, walPushId } from "../monitoring/kuma";
import type { FleetPlan } from "../plan/types";
import type { Backups, Nodes, Projects } from "./parts";
import type { FleetSecrets } from "./secrets";

/** The tunnel, its hostnames and their Access applications; they wait for a moved project's data and the master's Studios. */
export function buildEdge(plan: FleetPlan, nodes: Nodes, ingressAfter: pulumi.Input<pulumi.Input<pulumi.Resource>[]>, secrets: FleetSecrets): TunnelIngress {
  const e = plan.edge;
  return new TunnelIngress("edge", {
    env: plan.env,
    protect: plan.protect,
    ingressAfter,
    accountId: e.accountId,
    zoneId: e.zoneId,
    ...(e.teamName !== undefined ? { teamName: e.teamName } : {}),
    rules: e.rules,
    access: e.access,
    ...(secrets.identityProviderSecrets !== undefined ? { identityProviderSecrets: secrets.identityProviderSecrets } : {}),
    n8nHostname: plan.hostnames.n8n,
    master: { ssh: nodes.master.ssh, ready: nodes.master.ready },
  });
}

/** Uptime Kuma's monitors, with what each `${secret:name}` of them stands for (src/monitoring/kuma.ts). */
export function buildMonitoring(plan: FleetPlan, nodes: Nodes, projects: Projects, backups: Backups, tunnel: TunnelIngress): Monitoring {
  const secrets: Record<string, pulumi.Input<string>> = {
    accessClientId: tunnel.serviceTokenId,
    accessClientSecret: tunnel.serviceTokenSecret,
  };
  // Only a Studio on its worker has a password, which its monitor signs in with while Kong asks for it.
  const studioPassword = plan.edge.teamName === undefined;
  for (const [name, p] of projects.projects) {
    secrets[`anonKey:${name}`] = p.anonKey;
    if (studioPassword && p.secrets.dashboardPassword !== undefined) secrets[dashboardPasswordSecret(name)] = p.secrets.dashboardPassword;
  }
  for (const [name, w] of nodes.workers) secrets[pushSecret(agentPushId(name))] = w.healthPushToken;
  // The jobs that run (projects and the master), not retired ones.
  const running = new Set(plan.backups.jobs.filter((j) => j.kind !== "retired").map((j) => j.job));
  for (const [job, b] of backups.schedules) {
    if (!running.has(job)) continue;
    secrets[pushSecret(backupPushId(job))] = b.pushToken;
    if (b.walPushToken !== undefined) secrets[pushSecret(walPushId(job))] = b.walPushToken;
  }
  if (backups.alerting.ntfyToken !== undefined) secrets.ntfyToken = backups.alerting.ntfyToken;
  if (backups.alerting.telegramToken !== undefined) secrets.telegramBotToken = backups.alerting.telegramToken;
  return new Monitoring("monitoring", {
    ssh: nodes.master.ssh,
    after: [nodes.master.hubSync],
    hubAddress: plan.wireguard.hub,
    kumaUrl: plan.monitoring.kumaUrl,
    desired: plan.monitoring.desired,
    secrets,
  });
}

/** n8n and its workflows, with the secrets their credentials need. */
export function buildAutomations(plan: FleetPlan, nodes: Nodes, projects: Projects, backups: Backups, monitoring: Monitoring, fleetSecrets: FleetSecrets): Automations {
  const a = plan.automations;
  const secrets: Record<string, pulumi.Input<string>> = {};
  if (a.opsProject !== undefined) secrets.opsServiceKey = projects.projects.get(a.opsProject)!.serviceRoleKey;
  if (a.registryProject !== undefined) {
    secrets.registryServiceKey = projects.projects.get(a.registryProject)!.serviceRoleKey;
    // The welcome goes out through the registry project's own SMTP user.
    secrets.registrySmtpPassword = fleetSecrets.smtpPasswords.get(a.registryProject)!;
  }
  if (backups.alerting.ntfyToken !== undefined) secrets.ntfyToken = backups.alerting.ntfyToken;
  if (backups.alerting.telegramToken !== undefined) secrets.telegramBotToken = backups.alerting.telegramToken;
  return new Automations("automations", {
    ssh: nodes.master.ssh,
    after: [nodes.master.hubSync, monitoring.reconcile],
    hostname: a.hostname,
    ownerEmail: a.ownerEmail,
    ...(a.gate !== undefined ? { gate: a.gate } : {}),
    settings: a.settings,
    secrets,
  });
}
