import * as pulumi from "@pulumi/pulumi";
import { RELEASES } from "../model/releases";
import type { Fleet } from "./fleet";
import { customDomainOutputs } from "./customDomainOutputs";
import { probeTarget } from "./probeTarget";

/** Stack outputs: addresses and URLs in the clear, every key and credential as a secret. */
export function stackOutputs(fleet: Fleet): Record<string, unknown> {
  const projects = Object.fromEntries(
    fleet.plan.projects.map((m) => {
      const p = fleet.projects.get(m.name)!;
      return [m.name, { apiUrl: p.apiUrl, studioUrl: p.studioUrl, worker: m.worker.name }];
    }),
  );
  const projectSecrets = pulumi.secret(
    Object.fromEntries(
      [...fleet.projects].map(([name, p]) => [
        name,
        {
          anonKey: p.anonKey,
          serviceRoleKey: p.serviceRoleKey,
          connectionString: p.connectionString,
          ...(p.secrets.dashboardPassword !== undefined ? { dashboardPassword: p.secrets.dashboardPassword } : {}),
          ...(p.publishableKey ? { publishableKey: p.publishableKey, secretKey: p.secretKey } : {}),
        },
      ]),
    ),
  );
  return {
    environment: fleet.plan.env,
    infraRelease: fleet.release,
    masterIpv4: fleet.master.ipv4Address,
    workers: Object.fromEntries([...fleet.workers].map(([name, w]) => [name, { address: w.address }])),
    projects,
    projectSecrets,
    tunnelId: fleet.tunnel.tunnel.id,
    // What scripts/probe.ts checks, as a client would (docs/e2e.md).
    probeTarget: probeTarget(fleet),
    hostnames: fleet.tunnel.hostnames,
    // What each client adds in their own zone for their domain (docs/operations.md, "Give a project the client's own domain").
    customDomains: customDomainOutputs(fleet),
    operatorWireguardConfigs: fleet.master.operatorConfigs,
    automationServiceToken: pulumi.secret({ clientId: fleet.tunnel.serviceTokenId, clientSecret: fleet.tunnel.serviceTokenSecret }),
    backupRepositories: Object.fromEntries([...fleet.backups].map(([name, b]) => [name, b.repository])),
    // Read-only credentials to every project's repository: another stack's restoreFrom and drill read them.
    backupReaders: Object.fromEntries(
      [...fleet.backups]
        .filter(([name]) => name !== fleet.plan.master.name)
        .map(([name, b]) => {
          const project = fleet.plan.projects.find((p) => p.name === name);
          return [name, { ...b.readerOutput, ...(project !== undefined ? { dbImage: RELEASES[project.release]!.images.db } : {}) }];
        }),
    ),
    monitoring: {
      url: `https://${fleet.plan.hostnames.status}`,
      adminUser: fleet.monitoring.adminUser,
      adminPassword: pulumi.secret(fleet.monitoring.adminPassword),
      statusPages: fleet.monitoring.statusPages,
    },
    automations: {
      editor: `https://${fleet.plan.hostnames.n8n}/`,
      owner: fleet.plan.operators[0]!.email,
      ownerPassword: pulumi.secret(fleet.automations.ownerPassword),
      workflows: fleet.automations.workflows,
      // What TRMM's alert template sends: the URL on the mesh and the header the workflow checks.
      ...(fleet.plan.automations.trmmWebhookUrl !== undefined
        ? { trmmWebhook: { url: fleet.plan.automations.trmmWebhookUrl, header: "X-Supafleet-Webhook-Secret", secret: pulumi.secret(fleet.automations.trmmWebhookSecret) } }
        : {}),
      billingSignatureSecret: pulumi.secret(fleet.automations.billingHmacSecret),
    },
    // The console's page, and where the terminal twin reaches the same API over the mesh (npm run fleet).
    ...(fleet.console !== undefined && fleet.plan.console !== undefined
      ? { console: { url: fleet.console.url, mesh: `http://${fleet.plan.console.listen.address}:${fleet.plan.console.listen.port}` } }
      : {}),
    ...(fleet.rmm !== undefined && fleet.plan.rmm !== undefined
      ? { rmm: { address: fleet.plan.rmm.address, release: fleet.plan.rmm.release, hostnames: fleet.plan.rmm.hostnames, ipv4Address: fleet.rmm.server.ipv4Address } }
      : {}),
  };
}
