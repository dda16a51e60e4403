import * as pulumi from "@pulumi/pulumi";
import { MasterNode } from "../../components/MasterNode";
import { RmmNode } from "../../components/RmmNode";
import { WorkerNode } from "../../components/WorkerNode";
import { GATE_PORT } from "../automation/ports";
import { masterBackupTimes } from "../backup/tools";
import { deferred } from "../resources/deferred";
import { kumaPushBase } from "../monitoring/agent";
import type { FleetPlan } from "../plan/types";
import type { HubPeer } from "../render/hub";
import type { Nodes } from "./parts";

/** What every server of the stack shares. */
export interface NodeCommon {
  readonly env: string;
  readonly protect: boolean;
  readonly location: string;
  readonly image: string;
  /** /etc/supafleet/release: which commit of supafleet last applied the host. */
  readonly releaseFile: string;
}


/** The master, then every worker and Tactical RMM's node, which dial the master's hub. */
export function buildNodes(plan: FleetPlan, node: NodeCommon): Nodes {
  const peers = deferred<HubPeer[]>();
  const rmmPeer = deferred<HubPeer>();
  const master = new MasterNode(plan.master.name, {
    ...node,
    serverType: plan.master.serverType,
    operators: plan.operators,
    wireguard: plan.wireguard,
    deployVia: plan.master.deployVia,
    deployKey: plan.master.deployKey,
    hubKey: plan.master.hubKey,
    workerPeers: peers.output,
    backupTimes: masterBackupTimes(plan.backups.times),
    ...(plan.console !== undefined ? { consolePort: plan.console.listen.port } : {}),
    ...(plan.rmm !== undefined ? { rmm: { peer: rmmPeer.output, webhookPort: GATE_PORT } } : {}),
  });

  // What every node that dials the hub (workers, Tactical RMM's) gets from the master.
  const spoke = {
    wireguard: plan.wireguard,
    hub: { publicKey: master.hubPublicKey, nextPublicKey: master.nextHubPublicKey, ipv4Address: master.ipv4Address, rotation: master.hubKey },
    sshKeyIds: master.sshKeyIds,
    authorizedKeys: master.authorizedKeys,
    ssh: master.ssh,
    hubSynced: master.hubSync,
  };
  const pushBase = kumaPushBase(plan.wireguard.hub);
  const workers = new Map<string, WorkerNode>();
  for (const w of plan.workers) {
    workers.set(
      w.name,
      new WorkerNode(w.name, {
        ...node,
        serverType: w.serverType,
        address: w.address,
        wireguardKey: w.wireguardKey,
        ...spoke,
        backupTimes: plan.backups.times,
        kumaPushBase: pushBase,
        ...(plan.console !== undefined ? { consoleReportUrl: plan.console.reportUrl } : {}),
        databaseGrants: [...(plan.databaseGrants[w.name] ?? [])],
        ...(w.dedicatedTo !== undefined ? { dedicatedTo: w.dedicatedTo } : {}),
      }),
    );
  }
  peers.resolve(pulumi.all([...workers.values()].map((w) => w.hubPeer)));

  const rmm = plan.rmm !== undefined ? new RmmNode(plan.rmm.name, { ...node, rmm: plan.rmm, zoneId: plan.edge.zoneId, ...spoke, alertWebhookUrl: plan.rmm.alertWebhookUrl }) : undefined;
  if (rmm !== undefined) rmmPeer.resolve(rmm.hubPeer);
  return { master, workers, ...(rmm !== undefined ? { rmm } : {}) };
}
