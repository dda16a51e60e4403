import type { FleetConfig, OperatorConfig } from "../config/schema";
import { hubAddress, parseIpv4Cidr } from "../model/net";
import { MASTER_NAME, RMM_NAME } from "../model/naming";
import { trmmAlertWebhookUrl } from "./automations";
import type { DatabaseGrant, KeyRound, MasterPlan, MeshPlan, ProjectPlan, RmmPlan, WorkerPlan } from "./types";

const keyRound = (w: { keyRound: number; previousKeyRetired: boolean } | undefined): KeyRound => ({ round: w?.keyRound ?? 0, previousRetired: w?.previousKeyRetired ?? true });

export function planMesh(w: FleetConfig["wireguard"]): MeshPlan {
  const subnet = parseIpv4Cidr(w.subnet);
  if (subnet === undefined) throw new Error("wireguard.subnet was validated but does not parse");
  return { subnet: w.subnet, prefix: subnet.prefix, hub: hubAddress(subnet), port: w.port, allowWorkerToWorker: w.allowWorkerToWorker };
}

export function planMaster(cfg: FleetConfig): MasterPlan {
  return {
    name: MASTER_NAME,
    serverType: cfg.hetzner.masterServerType,
    deployVia: cfg.deploy.via,
    deployKey: { round: cfg.deploy.keyRound, previousRetired: cfg.deploy.previousKeyRetired },
    hubKey: { round: cfg.wireguard.hubRotation?.keyRound ?? 0, previousRetired: cfg.wireguard.hubRotation?.previousKeyRetired ?? true },
  };
}

/** The shared workers the stack file lists, in its order. */
export function planSharedWorkers(cfg: FleetConfig): WorkerPlan[] {
  return cfg.workers.map((w) => sharedWorker(w));
}

export function sharedWorker(w: FleetConfig["workers"][number]): WorkerPlan {
  return { name: w.name, serverType: w.serverType, address: w.address, wireguardKey: keyRound(w.wireguard) };
}

/** A dedicated project's own worker. */
export function dedicatedWorker(name: string, project: string, d: { serverType: string; address: string; wireguard?: { keyRound: number; previousKeyRetired: boolean } }): WorkerPlan {
  return { name, serverType: d.serverType, address: d.address, dedicatedTo: project, wireguardKey: keyRound(d.wireguard) };
}

export function planRmm(cfg: FleetConfig, hub: string): RmmPlan | undefined {
  const r = cfg.rmm;
  if (r === undefined) return undefined;
  const fq = (label: string): string => `${label}.${cfg.domain}`;
  return {
    name: RMM_NAME,
    serverType: r.serverType,
    address: r.address,
    wireguardKey: keyRound(r.wireguard),
    release: r.release,
    nats: r.nats,
    hostnames: { rmm: fq(r.hostnames.rmm), api: fq(r.hostnames.api), mesh: fq(r.hostnames.mesh) },
    alertWebhookUrl: trmmAlertWebhookUrl(hub),
  };
}

/** Operators' direct Postgres grants to the projects on one worker: their mesh address and each project's db port. */
export function databaseGrants(operators: readonly OperatorConfig[], projects: readonly ProjectPlan[], worker: string): DatabaseGrant[] {
  return operators.flatMap((o) =>
    o.wireguard === undefined
      ? []
      : projects.filter((p) => p.worker.name === worker && o.databaseAccess.includes(p.name)).map((p) => ({ operator: o.name, address: o.wireguard!.address, port: p.ports.db })),
  );
}
