import * as pulumi from "@pulumi/pulumi";
import { WRITE_RELEASE_FILE } from "../src/resources/infraRelease";
import * as hcloud from "@pulumi/hcloud";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import * as command from "@pulumi/command";
import type { OperatorConfig } from "../src/config/schema";
import { FleetComponent } from "../src/resources/component";
import { masterConnection, type SshPath } from "../src/resources/connections";
import { labels } from "../src/resources/labels";
import { serverArgs } from "../src/resources/servers";
import { wireguardPublicKey } from "../src/model/wireguard";
import { renderWithSecrets, renderPlain } from "../src/render/artifact";
import { INSTALL_AUTHORIZED_KEYS, renderAuthorizedKeys } from "../src/render/authorizedKeys";
import { nodeReadyCommand, renderBootData } from "../src/render/bootData";
import { backupToolsPayload, type BackupTimes } from "../src/backup/tools";
import { masterFirewallRules } from "../src/render/cloudFirewall";
import { bootMasterSets, masterRuleset } from "../src/render/hostFirewall";
import { renderNftFile } from "../src/render/nftables";
import { hubPeerSet, hubSyncPayload, type HubPeer } from "../src/render/hub";
import { hubInterfaceConfig, operatorConfig, type MeshShape } from "../src/render/mesh";
import { renderScript } from "../src/render/script";
import { renderWgConf } from "../src/render/wireguardConf";
import { HUB_SWITCH, hubNextPayload } from "../src/render/wireguardRotation";
import { keyRounds, type HubKeyState, type KeyRound } from "../src/resources/wireguardKeys";
import { KUMA_PORT } from "../src/monitoring/kuma";

/** In the client config of an operator who keeps their own private key. */
const YOUR_PRIVATE_KEY = "<the private key whose public half is operators[].wireguard.publicKey>";

export interface MasterNodeArgs {
  readonly env: string;
  /** /etc/supafleet/release: which commit of supafleet last applied this host. */
  readonly releaseFile: string;
  readonly protect: boolean;
  readonly location: string;
  readonly image: string;
  readonly serverType: string;
  readonly operators: readonly OperatorConfig[];
  readonly wireguard: MeshShape & { readonly allowWorkerToWorker: boolean };
  /** `mesh`: the program's SSH goes to the hub's mesh address, from a WireGuard peer (deploy.via). */
  readonly deployVia: "public" | "mesh";
  /** The deploy key's round, and whether the previous round is retired (deploy.keyRound, previousKeyRetired). */
  readonly deployKey: { readonly round: number; readonly previousRetired: boolean };
  /** The hub's WireGuard key round (wireguard.hubRotation). */
  readonly hubKey: KeyRound;
  readonly backupTimes: BackupTimes;
  /** Workers, known only after they are built: see src/resources/deferred.ts. */
  readonly workerPeers: pulumi.Input<HubPeer[]>;
  /** Tactical RMM's node, a peer of the hub whose alert webhooks may reach n8n's gate on this port. */
  readonly rmm?: { readonly peer: pulumi.Input<HubPeer>; readonly webhookPort: number };
  /** The operator console's port on the hub address, when it is enabled: workers report to it, operators' CLI reads it. */
  readonly consolePort?: number;
}

/**
 * The master: the only server with public ports (WireGuard, and SSH from the
 * operators), the WireGuard hub, the SSH bastion, and home of cloudflared,
 * Uptime Kuma and n8n.
 */
export class MasterNode extends FleetComponent {
  readonly server: hcloud.Server;
  readonly firewall: hcloud.Firewall;
  readonly publicIp: hcloud.PrimaryIp;
  readonly ipv4Address: pulumi.Output<string>;
  readonly hubPublicKey: pulumi.Output<string>;
  /** The hub's key rotation as the spokes see it: its round, its live key, and the switch when this `up` makes it. */
  readonly hubKey: HubKeyState;
  /** The hub's current round's public key: the one spokes stage while a rotation is between its steps. */
  readonly nextHubPublicKey: pulumi.Output<string>;
  readonly ssh: SshPath;
  /** The deploy key, as Hetzner knows it; every server accepts it from creation on. */
  readonly sshKeyIds: pulumi.Output<string>[];
  /** root's authorized_keys, the same on every node: the deploy key, then each operator's. */
  readonly authorizedKeys: pulumi.Output<string>;
  /** Completes once boot data has run and WireGuard is up; later commands wait on it. */
  readonly ready: command.remote.Command;
  /** The backup scripts and systemd units are installed. */
  readonly backupTools: command.remote.Command;
  readonly hubSync: command.remote.Command;
  /** wg-quick configs for operator peers, by operator name. A secret: some hold a private key. */
  readonly operatorConfigs: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: MasterNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("supafleet:index:MasterNode", name, opts);
    const child = { parent: this };
    const protect = args.protect;

    // The deploy key, by round (deploy.keyRound). While a rotation is under way both rounds are live: every host
    // accepts both, and the program still signs in with the previous one until previousKeyRetired.
    const round = args.deployKey.round;
    const roundName = (r: number): string => (r === 0 ? "" : `-r${r}`);
    const live = round > 0 && !args.deployKey.previousRetired ? [round - 1, round] : [round];
    const keys = live.map((r) => {
      const key = new tls.PrivateKey(`${name}-deploy-key${roundName(r)}`, { algorithm: "ED25519" }, child);
      // Only the deploy key goes through Hetzner: its ssh_keys are fixed at creation,
      // so operators' keys are managed over SSH (authorized-keys below) instead.
      const hetznerKey = new hcloud.SshKey(`${name}-sshkey-deploy${roundName(r)}`, { name: `${args.env}-deploy${roundName(r)}`, publicKey: key.publicKeyOpenssh, labels: labels(args.env, "deploy") }, child);
      return { key, hetznerKey };
    });
    const deployKey = keys[0]!.key;
    this.sshKeyIds = keys.map((k) => k.hetznerKey.id);
    this.authorizedKeys = pulumi.all(keys.map((k) => k.key.publicKeyOpenssh)).apply((pub) => renderAuthorizedKeys(pub, args.operators));

    // A primary IP outlives the server, so the address workers dial never moves.
    this.publicIp = new hcloud.PrimaryIp(
      `${name}-ipv4`,
      { name: `${args.env}-${name}-ipv4`, type: "ipv4", location: args.location, assigneeType: "server", autoDelete: false, deleteProtection: protect, labels: labels(args.env, "master") },
      { ...child, protect },
    );
    this.ipv4Address = this.publicIp.ipAddress;

    this.firewall = new hcloud.Firewall(
      `${name}-firewall`,
      { name: `${args.env}-${name}`, labels: labels(args.env, "master"), rules: masterFirewallRules(args.wireguard.port, args.operators) },
      child,
    );

    const hubKeys = keyRounds(name, args.hubKey, child);
    const wgKey = hubKeys.live;
    this.hubPublicKey = hubKeys.publicKey;
    this.nextHubPublicKey = hubKeys.currentPublicKey;
    const mesh = args.wireguard;
    const secrets = { wireguardPrivateKey: wgKey.base64 };
    this.keep(renderWithSecrets(`nodes/${name}/wireguard/wg0.conf`, secrets, (s) => renderWgConf(hubInterfaceConfig(mesh, s.wireguardPrivateKey))));
    const bootFirewall = masterRuleset({ wireguardPort: mesh.port, allowWorkerToWorker: mesh.allowWorkerToWorker, sets: bootMasterSets(args.operators.flatMap((o) => o.sourceRanges)) });
    const userData = this.keep(
      renderWithSecrets(`nodes/${name}/cloud-init.yaml`, secrets, (s) =>
        renderBootData({ hostname: `${args.env}-${name}`, role: "master", wireguardConf: renderWgConf(hubInterfaceConfig(mesh, s.wireguardPrivateKey)), firewall: bootFirewall }),
      ),
    );

    this.server = new hcloud.Server(
      `${name}-server`,
      serverArgs(args, {
        name: `${args.env}-${name}`,
        sshKeyIds: this.sshKeyIds,
        firewall: this.firewall,
        publicNets: [{ ipv4Enabled: true, ipv4: this.publicIp.id.apply(Number), ipv6Enabled: true }],
        userData,
        labels: labels(args.env, "master"),
      }),
      // Boot data holds the operators' ranges of the day it was made; later changes reach the master through
      // hub-sync, so they must not replace it. Hetzner's ssh keys only seed the first boot: a rotated deploy
      // key reaches the server through authorized-keys.
      { ...child, protect, ignoreChanges: ["userData", "sshKeys"] },
    );

    this.ssh = { masterHost: args.deployVia === "mesh" ? args.wireguard.hub : this.ipv4Address, privateKey: deployKey.privateKeyOpenssh };
    this.ready = new command.remote.Command(
      `${name}-ready`,
      { connection: masterConnection(this.ssh), create: nodeReadyCommand("listen-port") },
      { ...child, dependsOn: [this.server] },
    );
    new command.remote.Command(
      `${name}-authorized-keys`,
      { connection: masterConnection(this.ssh), create: INSTALL_AUTHORIZED_KEYS, stdin: this.authorizedKeys },
      { ...child, dependsOn: [this.ready] },
    );
    new command.remote.Command(`${name}-release`, { connection: masterConnection(this.ssh), create: WRITE_RELEASE_FILE, stdin: args.releaseFile }, { ...child, dependsOn: [this.ready] });

    // Operators on the mesh: a key pair made here when they gave no public key,
    // and for each a client config (a secret output) to bring up on their side.
    interface OperatorPeer {
      readonly operator: string;
      readonly address: string;
      readonly publicKey: pulumi.Output<string>;
      readonly privateKey?: pulumi.Output<string>;
    }
    const operatorPeers = args.operators.flatMap((o): OperatorPeer[] => {
      if (o.wireguard === undefined) return [];
      const wg = o.wireguard;
      if (wg.publicKey !== undefined) return [{ operator: o.name, address: wg.address, publicKey: pulumi.output(wg.publicKey) }];
      const key = new random.RandomBytes(`${name}-operator-${o.name}-wireguard-key`, { length: 32 }, child);
      return [{ operator: o.name, address: wg.address, publicKey: key.base64.apply(wireguardPublicKey), privateKey: key.base64 }];
    });
    const configs = operatorPeers.map((o) => {
      const rendered = this.keep(
        renderWithSecrets(`operators/${o.operator}.conf`, { operatorPrivateKey: o.privateKey ?? YOUR_PRIVATE_KEY }, (s) =>
          pulumi
            .all([this.hubPublicKey, this.ipv4Address])
            .apply(([hubPublicKey, hubIp]) => renderWgConf(operatorConfig(mesh, { name: o.operator, privateKey: s.operatorPrivateKey, address: o.address, hubPublicKey, hubIp }))),
        ),
      );
      return rendered.apply((conf) => [o.operator, conf] as const);
    });
    this.operatorConfigs = pulumi.secret(pulumi.all(configs).apply((entries) => Object.fromEntries(entries) as Record<string, string>));

    // The peer set and the firewall sets change as the fleet grows; neither touches boot data.
    const sshRanges = args.operators.flatMap((o) => o.sourceRanges);
    const rmm = args.rmm;
    const sets = pulumi
      .all([
        pulumi.output(args.workerPeers),
        pulumi.all(operatorPeers.map((o) => o.publicKey.apply((publicKey) => ({ name: o.operator, address: o.address, publicKey })))),
        rmm !== undefined ? pulumi.output(rmm.peer) : pulumi.output(undefined),
      ])
      .apply(([workers, operators, rmmPeer]) => ({ state: hubPeerSet(sshRanges, operators, workers, rmmPeer), rmmPeer }));
    const nftables = sets.apply(({ state, rmmPeer }) =>
      renderNftFile(
        masterRuleset({
          wireguardPort: mesh.port,
          allowWorkerToWorker: mesh.allowWorkerToWorker,
          sets: state.firewall,
          kumaPort: KUMA_PORT,
          ...(args.consolePort !== undefined ? { consolePort: args.consolePort } : {}),
          ...(rmmPeer !== undefined && rmm !== undefined ? { rmmWebhook: { address: rmmPeer.address, port: rmm.webhookPort } } : {}),
        }),
      ),
    );
    const peersConf = sets.apply(({ state }) => renderWgConf({ peers: state.peers }));
    this.keep(renderPlain(`nodes/${name}/wireguard/peers.conf`, peersConf));
    this.keep(renderPlain(`nodes/${name}/nftables.nft`, nftables));
    this.hubSync = new command.remote.Command(
      `${name}-hub-sync`,
      {
        connection: masterConnection(this.ssh),
        create: renderScript("host/hub-sync.sh"),
        stdin: pulumi.all([peersConf, nftables]).apply(([peers, nft]) => hubSyncPayload(peers, nft)),
      },
      { ...child, dependsOn: [this.ready] },
    );

    // Step 2 of the hub's rotation: stage the next interface config, then switch to it a few seconds after this
    // session ends. Every spoke has the config for the new key staged (step 1) and moves once the hub stops
    // answering the old one; operators fetch a new client config (docs/operations.md).
    let switched: command.remote.Command | undefined;
    if (args.hubKey.round > 0 && args.hubKey.previousRetired) {
      const next = new command.remote.Command(
        `${name}-wireguard-next`,
        { connection: masterConnection(this.ssh), create: renderScript("host/install-files.sh"), stdin: pulumi.secret(hubKeys.current.base64.apply((k) => hubNextPayload(renderWgConf(hubInterfaceConfig(mesh, k))))) },
        { ...child, dependsOn: [this.ready] },
      );
      switched = new command.remote.Command(
        `${name}-wireguard-switch`,
        { connection: masterConnection(this.ssh), create: pulumi.interpolate`${HUB_SWITCH} schedule # ${this.hubPublicKey}` },
        { ...child, dependsOn: [next, this.hubSync] },
      );
    }
    this.hubKey = { key: args.hubKey, publicKey: this.hubPublicKey, ...(switched !== undefined ? { switched } : {}) };

    this.backupTools = new command.remote.Command(
      `${name}-backup-tools`,
      { connection: masterConnection(this.ssh), create: renderScript("host/install-files.sh"), stdin: backupToolsPayload(args.backupTimes) },
      { ...child, dependsOn: [this.ready] },
    );

    this.registerOutputs({ ipv4Address: this.ipv4Address, hubPublicKey: this.hubPublicKey, serverId: this.server.id });
  }
}
