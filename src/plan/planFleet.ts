import type { FleetConfig } from "../config/schema";
import { ALERTING_SECRET_KEYS } from "../config/secrets";
import { kumaDesired, KUMA_PORT } from "../monitoring/kuma";
import { ingressRules } from "../render/ingress";
import { planAutomations } from "./automations";
import { planConsole } from "./console";
import { planAlerting, planBackups } from "./backups";
import { databaseGrants, planMaster, planMesh, planRmm, planSharedWorkers } from "./nodes";
import { planCustomHostnames } from "./customHostnames";
import { planProjects, planTenant } from "./projects";
import type { FleetPlan } from "./types";

/**
 * Every decision about one environment, from its validated config alone: no
 * Pulumi, no secrets. `secretsSet` names the secure keys that have a value
 * (optional ones change what is rendered, never their values).
 */
export function planFleet(env: string, cfg: FleetConfig, secretsSet: ReadonlySet<string> = new Set()): FleetPlan {
  const wireguard = planMesh(cfg.wireguard);
  const master = planMaster(cfg);
  const shared = planSharedWorkers(cfg);
  const { projects, dedicated } = planProjects(cfg, shared);
  const workers = [...shared, ...dedicated];
  const tenants = cfg.tenants.map(planTenant);
  const hostnames = {
    n8n: `${cfg.hostnames.n8n}.${cfg.domain}`,
    status: `${cfg.hostnames.status}.${cfg.domain}`,
    ...(cfg.console.enabled ? { console: `${cfg.hostnames.console}.${cfg.domain}` } : {}),
  };
  const rmm = planRmm(cfg, wireguard.hub);
  const alerting = planAlerting(cfg.alerting, secretsSet.has(ALERTING_SECRET_KEYS.ntfyToken));
  const teamName = cfg.cloudflare.teamName !== undefined ? { teamName: cfg.cloudflare.teamName } : {};
  const fleet = { env, domain: cfg.domain, wireguard, hostnames, master, workers, projects, tenants, edge: teamName };
  const kumaUrl = `http://${wireguard.hub}:${KUMA_PORT}`;
  const desired = kumaDesired(fleet, {
    ...(alerting.ntfy !== undefined ? { ntfy: { server: alerting.ntfy.server, topic: alerting.ntfy.topic, token: alerting.ntfy.token } } : {}),
    ...(alerting.telegramChat !== undefined ? { telegram: { chatId: alerting.telegramChat } } : {}),
  });
  const operatorConsole = planConsole(cfg, hostnames.console, { env, domain: cfg.domain, hub: wireguard.hub, kumaUrl, kumaHostname: hostnames.status, master, workers, tenants, projects, monitors: desired.monitors });
  return {
    env,
    domain: cfg.domain,
    protect: cfg.protect,
    hosts: { location: cfg.hetzner.location, image: cfg.hetzner.image },
    wireguard,
    master,
    workers,
    ...(rmm !== undefined ? { rmm } : {}),
    projects,
    operators: cfg.operators,
    databaseGrants: Object.fromEntries(workers.map((w) => [w.name, databaseGrants(cfg.operators, projects, w.name)])),
    tenants,
    hostnames,
    edge: {
      accountId: cfg.cloudflare.accountId,
      zoneId: cfg.cloudflare.zoneId,
      ...teamName,
      rules: ingressRules(fleet),
      access: { ...cfg.access, emails: [...new Set([...cfg.operators.map((o) => o.email), ...cfg.access.emails])] },
      waitsForMoves: projects.some((p) => p.movedFrom !== undefined),
      ...planCustomHostnames(projects, cfg.domain),
    },
    backups: planBackups(cfg, projects, master.name, alerting),
    monitoring: { kumaUrl, desired },
    ...(operatorConsole !== undefined ? { console: operatorConsole } : {}),
    studios: cfg.studios,
    automations: planAutomations(cfg.automations, { env, hub: wireguard.hub, n8nHostname: hostnames.n8n, ownerEmail: cfg.operators[0]!.email, projects, alerting, ...(rmm !== undefined ? { rmm } : {}) }),
  };
}
