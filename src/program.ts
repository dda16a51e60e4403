import * as pulumi from "@pulumi/pulumi";
import { infraRelease, releaseFile, type InfraRelease } from "./infraRelease";
import { BackupSchedule } from "../components/BackupSchedule";
import { BackupVault } from "../components/BackupVault";
import { MasterNode } from "../components/MasterNode";
import { Monitoring } from "../components/Monitoring";
import { RlsPolicySet } from "../components/RlsPolicySet";
import { SupabaseProject } from "../components/SupabaseProject";
import { TunnelIngress } from "../components/TunnelIngress";
import { WorkerNode } from "../components/WorkerNode";
import type { FleetComponent } from "./component";
import { deferred } from "./deferred";
import type { FleetModel } from "./model/fleet";
import { secretValue } from "./config/fromPulumi";
import { SCHEMA_PACKS, retiredName, type FleetConfig } from "./config/schema";
import { probeTarget } from "./probe/stackTarget";
import { ALERTING_SECRET_KEYS, BACKUP_COPY_SECRET_KEYS } from "./config/secrets";
import type { BackupReader } from "./backup/seed";
import { masterBackupTimes } from "./backup/tools";
import { masterConnection, workerConnection } from "./connections";
import { containerName, volumeName } from "./supabase/naming";
import type { BackupAlerting, BackupCopy } from "../components/BackupSchedule";
import { ProjectMove } from "../components/ProjectMove";
import { ProjectSeed } from "../components/ProjectSeed";
import { RmmNode } from "../components/RmmNode";
import type { Automations } from "../components/Automations";
import { buildAutomations, trmmAlertWebhookUrl } from "./automation/wiring";
import { GATE_PORT } from "./automation/webhookGate";
import { BackupDrill, type DrilledJob } from "../components/BackupDrill";
import { RELEASES } from "./supabase/releases";
import { healthcheckUrl } from "./backup/settings";
import { ingressRules } from "./render/ingress";
import type { HubPeer } from "./render/hub";
import { kumaPushBase } from "./monitoring/agent";
import { agentPushId, backupPushId, kumaDesired, KUMA_PORT, pushSecret } from "./monitoring/kuma";

/** Every component of one environment, by role. */
export interface Fleet {
  readonly model: FleetModel;
  readonly master: MasterNode;
  readonly workers: ReadonlyMap<string, WorkerNode>;
  readonly projects: ReadonlyMap<string, SupabaseProject>;
  readonly tunnel: TunnelIngress;
  readonly vault: BackupVault;
  readonly backups: ReadonlyMap<string, BackupSchedule>;
  readonly policySets: ReadonlyMap<string, RlsPolicySet>;
  readonly monitoring: Monitoring;
  readonly automations: Automations;
  readonly rmm?: RmmNode;
  /** The commit this run applies: read from git once, for the hosts and the stack outputs. */
  readonly release: InfraRelease;
  readonly components: readonly FleetComponent[];
}

/**
 * Instantiates the whole environment from its model. Logical names come from
 * config names only (never list positions), so adding or removing one tenant,
 * project or worker leaves every other resource's identity untouched.
 */
export function buildFleet(model: FleetModel): Fleet {
  const cfg = model.config;
  const env = model.env;
  // Every host records which commit of supafleet last applied it (/etc/supafleet/release).
  const release = infraRelease();
  const node = { env, protect: model.protect, location: cfg.hetzner.location, image: cfg.hetzner.image, releaseFile: releaseFile(release, env) };
  const pushBase = kumaPushBase(model.wireguard.hub);
  const backupTimes = { time: cfg.backups.time, randomizedDelayMinutes: cfg.backups.randomizedDelayMinutes, drillDay: cfg.backups.restoreDrillDay };

  const peers = deferred<HubPeer[]>();
  const rmmPeer = deferred<HubPeer>();
  const master = new MasterNode(model.master.name, {
    ...node,
    serverType: model.master.serverType,
    operators: model.operators,
    wireguard: model.wireguard,
    deployVia: cfg.deploy.via,
    deployKey: { round: cfg.deploy.keyRound, previousRetired: cfg.deploy.previousKeyRetired },
    hubKey: { round: cfg.wireguard.hubRotation?.keyRound ?? 0, previousRetired: cfg.wireguard.hubRotation?.previousKeyRetired ?? true },
    workerPeers: peers.output,
    backupTimes: masterBackupTimes(backupTimes),
    ...(model.rmm !== undefined ? { rmm: { peer: rmmPeer.output, webhookPort: GATE_PORT } } : {}),
  });

  // What every node that dials the hub (workers, Tactical RMM's) gets from the master.
  const spoke = {
    wireguard: model.wireguard,
    hub: { publicKey: master.hubPublicKey, nextPublicKey: master.nextHubPublicKey, ipv4Address: master.ipv4Address, rotation: master.hubKey },
    sshKeyIds: master.sshKeyIds,
    authorizedKeys: master.authorizedKeys,
    ssh: master.ssh,
    hubSynced: master.hubSync,
  };
  const workers = new Map<string, WorkerNode>();
  for (const w of model.workers) {
    workers.set(
      w.name,
      new WorkerNode(w.name, {
        ...node,
        serverType: w.serverType,
        address: w.address,
        wireguardKey: w.wireguardKey,
        ...spoke,
        backupTimes,
        kumaPushBase: pushBase,
        databaseGrants: databaseGrants(model, w.name),
        ...(w.dedicatedTo !== undefined ? { dedicatedTo: w.dedicatedTo } : {}),
      }),
    );
  }
  peers.resolve(pulumi.all([...workers.values()].map((w) => w.hubPeer)));

  const rmm =
    model.rmm !== undefined
      ? new RmmNode(model.rmm.name, {
          ...node,
          rmm: model.rmm,
          zoneId: cfg.cloudflare.zoneId,
          ...spoke,
          alertWebhookUrl: trmmAlertWebhookUrl(model),
        })
      : undefined;
  if (rmm !== undefined) rmmPeer.resolve(rmm.hubPeer);

  // What each project's deploy waits for, known only once backups exist: its backup's sub-account (so that
  // on removal, and on `pulumi destroy`, the final backup runs before the repository's credential can go)
  // and, for a moving project, the final backup and stop on the worker it leaves. The ingress waits for moves.
  const deployAfter = new Map(model.projects.map((p) => [p.name, deferred<pulumi.Resource[]>()]));
  const anyMove = model.projects.some((p) => p.movedFrom !== undefined);
  const restoredMoves = deferred<pulumi.Resource[]>();
  const projects = new Map<string, SupabaseProject>();
  for (const p of model.projects) {
    const smtpPassword = secretValue(p.smtpPasswordKey);
    if (smtpPassword === undefined) throw new Error(`${p.smtpPasswordKey} was validated as set but cannot be read`);
    projects.set(p.name, new SupabaseProject(p.name, { env, project: p, ssh: master.ssh, workerReady: workers.get(p.worker.name)!.ready, smtpPassword, deployAfter: deployAfter.get(p.name)!.output }));
  }

  const tunnel = new TunnelIngress("edge", {
    env,
    protect: model.protect,
    ...(anyMove ? { ingressAfter: restoredMoves.output } : {}),
    accountId: cfg.cloudflare.accountId,
    zoneId: cfg.cloudflare.zoneId,
    ...(cfg.cloudflare.teamName !== undefined ? { teamName: cfg.cloudflare.teamName } : {}),
    rules: ingressRules(model),
    access: { ...cfg.access, emails: [...new Set([...model.operators.map((o) => o.email), ...cfg.access.emails])] },
    n8nHostname: model.hostnames.n8n,
    master: { ssh: master.ssh, ready: master.ready },
  });

  const vault = new BackupVault("backups", { env, protect: model.protect, type: cfg.backups.storageBox.type, location: cfg.backups.storageBox.location });
  const alerting = backupAlerting(cfg);
  const copy = backupCopy(cfg);
  const backup = {
    env,
    storageBoxId: vault.storageBoxId,
    retention: cfg.backups.retention,
    alerting,
    kumaPushBase: pushBase,
    disposable: cfg.backups.disposable,
    ...(copy !== undefined ? { copy } : {}),
  };
  const backups = new Map<string, BackupSchedule>();
  for (const p of model.projects) {
    const worker = workers.get(p.worker.name)!;
    backups.set(
      p.name,
      new BackupSchedule({
        ...backup,
        job: p.name,
        connection: workerConnection(master.ssh, p.worker.address),
        after: [worker.backupTools, projects.get(p.name)!.deployed],
        dbContainer: containerName(p.name, "db"),
        paths: projectBackupPaths(p.name),
        vaultKeyPath: vaultKeyPath(p.name),
        resticRotation: p.rotate.restic,
      }),
    );
  }
  // Projects that are gone: their credentials and repositories stay, nothing runs.
  for (const r of cfg.backups.retired) {
    const job = retiredName(r);
    const resticRotation = typeof r === "string" ? 0 : r.rotate.restic;
    backups.set(job, new BackupSchedule({ ...backup, job, after: [], dbContainer: containerName(job, "db"), paths: projectBackupPaths(job), vaultKeyPath: vaultKeyPath(job), retired: true, resticRotation }));
  }
  // Projects moving to another worker: out of the old one, into the new one, then the old one cleaned up.
  const moves: ProjectMove[] = [];
  for (const p of model.projects) {
    const subaccount = backups.get(p.name)!.subaccount;
    if (p.movedFrom === undefined) {
      deployAfter.get(p.name)!.resolve([subaccount]);
      continue;
    }
    const move = new ProjectMove({ project: { ...p, movedFrom: p.movedFrom }, ssh: master.ssh, arrived: [projects.get(p.name)!.deployed, backups.get(p.name)!.enabled!] });
    deployAfter.get(p.name)!.resolve([subaccount, move.stoppedOnOldWorker]);
    moves.push(move);
  }
  if (anyMove) restoredMoves.resolve(moves.map((m) => m.restored));

  // The master's own state: WireGuard, its firewall, cloudflared's token, Uptime Kuma and n8n data.
  backups.set(
    model.master.name,
    new BackupSchedule({
      ...backup,
      job: model.master.name,
      connection: masterConnection(master.ssh),
      after: [master.backupTools],
      paths: MASTER_BACKUP_PATHS,
      resticRotation: cfg.backups.master?.rotate.restic ?? 0,
    }),
  );

  const refs: StackReferences = new Map();
  // New projects whose data starts from another's backup; their migrations apply on top of it.
  const seeds = new Map<string, ProjectSeed>();
  for (const p of model.projects) {
    const from = p.restoreFrom;
    if (from === undefined) continue;
    const reader = from.stack === undefined ? backups.get(from.project)!.reader : readerFromStack(refs, from.stack, from.project);
    seeds.set(
      p.name,
      new ProjectSeed({
        project: p,
        reader,
        snapshot: from.snapshot,
        sourcePaths: projectBackupPaths(from.project),
        paths: projectBackupPaths(p.name),
        vaultKeyPath: vaultKeyPath(p.name),
        // Every pack's hook: it scrubs what the source holds, whatever the new project declares.
        ...(from.stack !== undefined ? { anonymise: SCHEMA_PACKS } : {}),
        ssh: master.ssh,
        after: [projects.get(p.name)!.deployed, workers.get(p.worker.name)!.backupTools],
      }),
    );
  }

  // Staging drills prod: every job of the other stack, into throwaway databases on one of this stack's workers.
  const drillOf = cfg.backups.drillOf;
  const drills: BackupDrill[] = [];
  if (drillOf !== undefined) {
    const worker = workers.get(drillOf.worker)!;
    const a = alerting;
    drills.push(
      new BackupDrill({
        stack: drillOf.stack,
        env,
        jobs: stackReference(refs, drillOf.stack).getOutput("backupReaders") as pulumi.Output<Record<string, DrilledJob>>,
        defaultImage: RELEASES[cfg.supabase.release]!.images.db,
        connection: workerConnection(master.ssh, worker.address),
        after: [worker.backupTools],
        alerting: {
          ...(a.healthchecksBase !== undefined && a.healthchecksPingKey !== undefined
            ? { drillHcUrl: (job: string) => pulumi.output(a.healthchecksPingKey!).apply((k) => healthcheckUrl(a.healthchecksBase!, k, `supafleet-${env}-drill-${drillOf.stack}-${job}`)) }
            : {}),
          ...(a.ntfyUrl !== undefined ? { ntfyUrl: a.ntfyUrl, ...(a.ntfyToken !== undefined ? { ntfyToken: a.ntfyToken } : {}) } : {}),
          ...(a.telegramChat !== undefined && a.telegramToken !== undefined ? { telegramChat: a.telegramChat, telegramToken: a.telegramToken } : {}),
        },
        drillDay: cfg.backups.restoreDrillDay,
        retention: cfg.backups.retention,
      }),
    );
  }

  const policySets = new Map<string, RlsPolicySet>();
  for (const p of model.projects.filter((m) => m.schemaPacks.length > 0)) {
    const seed = seeds.get(p.name);
    // The tenant data model lives and dies with its project, so it sits under it in the tree.
    const project = projects.get(p.name)!;
    policySets.set(p.name, new RlsPolicySet({ project: p, ssh: master.ssh, after: [project.deployed, ...(seed !== undefined ? [seed.done] : [])] }, { parent: project }));
  }

  const monitoring = new Monitoring("monitoring", {
    ssh: master.ssh,
    after: [master.hubSync],
    hubAddress: model.wireguard.hub,
    kumaUrl: `http://${model.wireguard.hub}:${KUMA_PORT}`,
    desired: kumaDesired(model, {
      ...(cfg.alerting.ntfy !== undefined ? { ntfy: { ...cfg.alerting.ntfy, token: secretValue(ALERTING_SECRET_KEYS.ntfyToken) !== undefined } } : {}),
      ...(cfg.alerting.telegram !== undefined ? { telegram: cfg.alerting.telegram } : {}),
    }),
    secrets: monitoringSecrets({ projects, workers, backups, tunnel, jobs: new Set([...model.projects.map((p) => p.name), model.master.name]) }, alerting),
  });

  const automations = buildAutomations(model, { master, projects, alerting, after: [master.hubSync, monitoring.reconcile] });

  const components: FleetComponent[] = [
    master,
    ...workers.values(),
    ...(rmm !== undefined ? [rmm] : []),
    ...projects.values(),
    tunnel,
    vault,
    ...backups.values(),
    ...seeds.values(),
    ...moves,
    ...drills,
    ...policySets.values(),
    monitoring,
    automations,
  ];
  return { model, master, workers, ...(rmm !== undefined ? { rmm } : {}), projects, tunnel, vault, backups, policySets, monitoring, automations, release, components };
}

/** Operators' direct Postgres grants to the projects on one worker: their mesh address and each project's db port. */
function databaseGrants(model: FleetModel, worker: string): { operator: string; address: string; port: number }[] {
  return model.operators.flatMap((o) =>
    o.wireguard === undefined
      ? []
      : model.projects.filter((p) => p.worker.name === worker && o.databaseAccess.includes(p.name)).map((p) => ({ operator: o.name, address: o.wireguard!.address, port: p.ports.db })),
  );
}

interface FleetParts {
  readonly projects: ReadonlyMap<string, SupabaseProject>;
  readonly workers: ReadonlyMap<string, WorkerNode>;
  readonly backups: ReadonlyMap<string, BackupSchedule>;
  readonly tunnel: TunnelIngress;
  /** The jobs that run (projects and the master), not retired ones. */
  readonly jobs: ReadonlySet<string>;
}

/** What each `${secret:name}` of the monitor set stands for; see src/monitoring/kuma.ts. */
function monitoringSecrets(f: FleetParts, alerting: BackupAlerting): Record<string, pulumi.Input<string>> {
  const secrets: Record<string, pulumi.Input<string>> = {
    accessClientId: f.tunnel.serviceTokenId,
    accessClientSecret: f.tunnel.serviceTokenSecret,
  };
  for (const [name, p] of f.projects) {
    secrets[`anonKey:${name}`] = p.anonKey;
    secrets[`dashboardPassword:${name}`] = p.secrets.dashboardPassword;
  }
  for (const [name, w] of f.workers) secrets[pushSecret(agentPushId(name))] = w.healthPushToken;
  for (const [job, b] of f.backups) if (f.jobs.has(job)) secrets[pushSecret(backupPushId(job))] = b.pushToken;
  if (alerting.ntfyToken !== undefined) secrets.ntfyToken = alerting.ntfyToken;
  if (alerting.telegramToken !== undefined) secrets.telegramBotToken = alerting.telegramToken;
  return secrets;
}

/**
 * What a project's backup covers besides its database: storage objects, its non-secret config (the
 * Compose release and the edge functions) and the database's config volume, which holds the Vault key.
 */
export function projectBackupPaths(project: string): string[] {
  return [
    `/var/lib/docker/volumes/${volumeName(project, "storage")}/_data`,
    `/opt/supafleet/projects/${project}/releases/current`,
    `/opt/supafleet/projects/${project}/assets`,
    vaultKeyPath(project),
  ];
}

/** Supabase's db-config volume (/etc/postgresql-custom in the db container): the Vault's root key. */
export function vaultKeyPath(project: string): string {
  return `/var/lib/docker/volumes/${volumeName(project, "db-config")}/_data`;
}

/** One reference per other stack of this project and run: a restore and the drill may both read prod. */
type StackReferences = Map<string, pulumi.StackReference>;
function stackReference(refs: StackReferences, stack: string): pulumi.StackReference {
  const name = `${organization()}/${pulumi.getProject()}/${stack}`;
  let ref = refs.get(name);
  if (ref === undefined) {
    ref = new pulumi.StackReference(name);
    refs.set(name, ref);
  }
  return ref;
}

/** Another stack's read-only credential for one of its jobs, from that stack's outputs. */
function readerFromStack(refs: StackReferences, stack: string, job: string): pulumi.Output<BackupReader> {
  const ref = stackReference(refs, stack);
  return pulumi.secret(
    ref.getOutput("backupReaders").apply((readers: Record<string, BackupReader> | undefined) => {
      const r = readers?.[job];
      if (r === undefined) throw new pulumi.RunError(`stack ${stack} has no backups of project "${job}" (its output backupReaders lists: ${Object.keys(readers ?? {}).join(", ") || "none"})`);
      return r;
    }),
  );
}

function organization(): string {
  try {
    return pulumi.getOrganization();
  } catch {
    return "organization";
  }
}

function backupCopy(cfg: FleetConfig): BackupCopy | undefined {
  const c = cfg.backups.copy;
  if (c === undefined) return undefined;
  const accessKeyId = secretValue(BACKUP_COPY_SECRET_KEYS.accessKeyId);
  const secretAccessKey = secretValue(BACKUP_COPY_SECRET_KEYS.secretAccessKey);
  if (accessKeyId === undefined || secretAccessKey === undefined) throw new Error("backups.copy was validated with its keys but they cannot be read");
  return { repository: c.repository, retention: c.retention ?? cfg.backups.retention, accessKeyId, secretAccessKey };
}

export const MASTER_BACKUP_PATHS = ["/etc/wireguard", "/etc/nftables.d", "/etc/supafleet", "/opt/supafleet/master"];

function backupAlerting(cfg: FleetConfig): BackupAlerting {
  const a = cfg.alerting;
  const optional = <K extends string>(key: K, value: pulumi.Output<string> | undefined): Partial<Record<K, pulumi.Output<string>>> =>
    value !== undefined ? ({ [key]: value } as Record<K, pulumi.Output<string>>) : {};
  return {
    ...(a.healthchecks !== undefined ? { healthchecksBase: a.healthchecks.baseUrl, ...optional("healthchecksPingKey", secretValue(ALERTING_SECRET_KEYS.healthchecksPingKey)) } : {}),
    ...(a.ntfy !== undefined ? { ntfyUrl: `${a.ntfy.server.replace(/\/+$/, "")}/${a.ntfy.topic}`, ...optional("ntfyToken", secretValue(ALERTING_SECRET_KEYS.ntfyToken)) } : {}),
    ...(a.telegram !== undefined ? { telegramChat: a.telegram.chatId, ...optional("telegramToken", secretValue(ALERTING_SECRET_KEYS.telegramBotToken)) } : {}),
  };
}

/** Stack outputs: addresses and URLs in the clear, every key and credential as a secret. */
export function stackOutputs(fleet: Fleet): Record<string, unknown> {
  const projects = Object.fromEntries(
    fleet.model.projects.map((m) => {
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
          dashboardPassword: p.secrets.dashboardPassword,
          ...(p.publishableKey ? { publishableKey: p.publishableKey, secretKey: p.secretKey } : {}),
        },
      ]),
    ),
  );
  return {
    environment: fleet.model.env,
    infraRelease: fleet.release,
    masterIpv4: fleet.master.ipv4Address,
    workers: Object.fromEntries([...fleet.workers].map(([name, w]) => [name, { address: w.address }])),
    projects,
    projectSecrets,
    tunnelId: fleet.tunnel.tunnel.id,
    // What scripts/probe.ts checks, as a client would (docs/e2e.md).
    probeTarget: probeTarget(fleet),
    hostnames: fleet.tunnel.hostnames,
    operatorWireguardConfigs: fleet.master.operatorConfigs,
    automationServiceToken: pulumi.secret({ clientId: fleet.tunnel.serviceTokenId, clientSecret: fleet.tunnel.serviceTokenSecret }),
    backupRepositories: Object.fromEntries([...fleet.backups].map(([name, b]) => [name, b.repository])),
    // Read-only credentials to every project's repository: another stack's restoreFrom and drill read them.
    backupReaders: Object.fromEntries(
      [...fleet.backups]
        .filter(([name]) => name !== fleet.model.master.name)
        .map(([name, b]) => {
          const project = fleet.model.projects.find((p) => p.name === name);
          return [name, { ...b.readerOutput, ...(project !== undefined ? { dbImage: RELEASES[project.release]!.images.db } : {}) }];
        }),
    ),
    monitoring: {
      url: `https://${fleet.model.hostnames.status}`,
      adminUser: fleet.monitoring.adminUser,
      adminPassword: pulumi.secret(fleet.monitoring.adminPassword),
      statusPages: fleet.monitoring.statusPages,
    },
    automations: {
      editor: `https://${fleet.model.hostnames.n8n}/`,
      owner: fleet.model.operators[0]!.email,
      ownerPassword: pulumi.secret(fleet.automations.ownerPassword),
      workflows: fleet.automations.workflows,
      // What TRMM's alert template sends: the URL on the mesh and the header the workflow checks.
      ...(fleet.model.rmm !== undefined
        ? { trmmWebhook: { url: trmmAlertWebhookUrl(fleet.model), header: "X-Supafleet-Webhook-Secret", secret: pulumi.secret(fleet.automations.trmmWebhookSecret) } }
        : {}),
      billingSignatureSecret: pulumi.secret(fleet.automations.billingHmacSecret),
    },
    ...(fleet.rmm !== undefined && fleet.model.rmm !== undefined
      ? { rmm: { address: fleet.model.rmm.address, release: fleet.model.rmm.release, hostnames: fleet.model.rmm.hostnames, ipv4Address: fleet.rmm.server.ipv4Address } }
      : {}),
  };
}
