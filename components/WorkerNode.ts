import * as pulumi from "@pulumi/pulumi";
import { WRITE_RELEASE_FILE } from "../src/resources/infraRelease";
import * as hcloud from "@pulumi/hcloud";
import * as random from "@pulumi/random";
import * as command from "@pulumi/command";
import { FleetComponent } from "../src/resources/component";
import { workerConnection, type SshPath } from "../src/resources/connections";
import { labels } from "../src/resources/labels";
import { serverArgs } from "../src/resources/servers";
import { renderPlain, renderWithSecrets } from "../src/render/artifact";
import { renderNftFile } from "../src/render/nftables";
import { renderScript } from "../src/render/script";
import { INSTALL_AUTHORIZED_KEYS } from "../src/render/authorizedKeys";
import { nodeReadyCommand, renderBootData } from "../src/render/bootData";
import { backupToolsPayload, type BackupTimes } from "../src/backup/tools";
import { healthAgentPayload } from "../src/monitoring/agent";
import { workerFirewallRules } from "../src/render/cloudFirewall";
import { workerRuleset, type WorkerFirewallArgs } from "../src/render/hostFirewall";
import type { HubPeer } from "../src/render/hub";
import { renderWgConf } from "../src/render/wireguardConf";
import { workerConfig, type MeshShape } from "../src/render/mesh";
import { keyRounds, spokeKeyRotation, type KeyRound, type SpokeHub } from "../src/resources/wireguardKeys";

export interface WorkerNodeArgs {
  readonly env: string;
  /** /etc/supafleet/release: which commit of supafleet last applied this host. */
  readonly releaseFile: string;
  readonly protect: boolean;
  readonly location: string;
  readonly image: string;
  readonly serverType: string;
  /** Pinned in config; never derived from list order. */
  readonly address: string;
  readonly wireguard: MeshShape;
  /** Its WireGuard key's round (wireguardKey.round), and whether the hub has moved on from the previous one. */
  readonly wireguardKey: KeyRound;
  readonly hub: SpokeHub;
  /** The deploy key's Hetzner id; operators' keys are managed over SSH. */
  readonly sshKeyIds: pulumi.Input<pulumi.Input<string>[]>;
  readonly authorizedKeys: pulumi.Input<string>;
  readonly ssh: SshPath;
  /** The hub has this worker as a peer once this has run; SSH over WireGuard needs it. */
  readonly hubSynced: pulumi.Resource;
  readonly backupTimes: BackupTimes;
  /** Uptime Kuma's push endpoint on the hub, without the token: see src/monitoring/agent.ts. */
  readonly kumaPushBase: string;
  /** The console's report endpoint, when the console is enabled: the health agent posts each run's report there too. */
  readonly consoleReportUrl?: string;
  /** Set for a worker that exists for one dedicated project. */
  readonly dedicatedTo?: string;
  /** Operators' direct Postgres access to projects on this worker (operators[].databaseAccess). */
  readonly databaseGrants: NonNullable<WorkerFirewallArgs["databaseGrants"]>;
}

/**
 * A worker: runs project stacks, has no public port but WireGuard from the
 * master, and is reached over SSH only through the master.
 */
export class WorkerNode extends FleetComponent {
  readonly server: hcloud.Server;
  readonly firewall: hcloud.Firewall;
  readonly address: string;
  readonly publicKey: pulumi.Output<string>;
  /** This worker as an entry of the hub's peer set. */
  readonly hubPeer: pulumi.Output<HubPeer>;
  readonly ready: command.remote.Command;
  /** The backup scripts and systemd units are installed. */
  readonly backupTools: command.remote.Command;
  /** The token of this worker's health agent's Kuma push monitor. */
  readonly healthPushToken: pulumi.Output<string>;

  constructor(name: string, args: WorkerNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("supafleet:index:WorkerNode", name, opts);
    const child = { parent: this };
    const role: Record<string, string> = args.dedicatedTo ? { dedicated: args.dedicatedTo } : {};
    this.address = args.address;

    this.firewall = new hcloud.Firewall(
      `${name}-firewall`,
      { name: `${args.env}-${name}`, labels: labels(args.env, "worker", { worker: name }), rules: workerFirewallRules() },
      child,
    );

    const keys = keyRounds(name, args.wireguardKey, child);
    const wgKey = keys.live;
    this.publicKey = keys.publicKey;
    this.hubPeer = this.publicKey.apply((publicKey) => ({ name, address: args.address, publicKey }));

    const wgConf = (privateKey: string, hubKey: string, hubIp: string): string =>
      renderWgConf(workerConfig(args.wireguard, { privateKey, address: args.address, hubPublicKey: hubKey, hubIp }));
    const firewall = pulumi.output(workerRuleset({ subnet: args.wireguard.subnet }));
    const secrets = { wireguardPrivateKey: wgKey.base64 };
    const hub = pulumi.all([args.hub.publicKey, args.hub.ipv4Address, firewall]);
    this.keep(renderWithSecrets(`nodes/${name}/wireguard/wg0.conf`, secrets, (s) => hub.apply(([hubKey, hubIp]) => wgConf(s.wireguardPrivateKey, hubKey, hubIp))));
    const userData = this.keep(
      renderWithSecrets(`nodes/${name}/cloud-init.yaml`, secrets, (s) =>
        hub.apply(([hubKey, hubIp, rules]) =>
          renderBootData({ hostname: `${args.env}-${name}`, role: "worker", wireguardConf: wgConf(s.wireguardPrivateKey, hubKey, hubIp), firewall: rules }),
        ),
      ),
    );

    this.server = new hcloud.Server(
      `${name}-server`,
      serverArgs(args, {
        name: `${args.env}-${name}`,
        sshKeyIds: args.sshKeyIds,
        firewall: this.firewall,
        // IPv4 for egress (image pulls, SMTP, backups); the firewall admits nothing but WireGuard.
        publicNets: [{ ipv4Enabled: true, ipv6Enabled: true }],
        userData,
        labels: labels(args.env, "worker", { worker: name, ...role }),
      }),
      // Boot data and Hetzner's ssh keys only seed the first boot: a rotated WireGuard key reaches the worker
      // through wireguard-next below, a rotated deploy key through authorized-keys. Neither replaces it.
      { ...child, protect: args.protect, ignoreChanges: ["userData", "sshKeys"] },
    );

    this.ready = new command.remote.Command(
      `${name}-ready`,
      { connection: workerConnection(args.ssh, args.address), create: nodeReadyCommand("latest-handshakes") },
      { ...child, dependsOn: [this.server, args.hubSynced] },
    );

    // A rotated key: staged first, switched by the worker once the hub has it (docs/operations.md).
    spokeKeyRotation(
      name,
      { key: args.wireguardKey, keys, hub: args.hub, render: wgConf, hubAddress: args.wireguard.hub, connection: workerConnection(args.ssh, args.address), ready: this.ready, hubSynced: args.hubSynced },
      child,
    );

    new command.remote.Command(
      `${name}-release`,
      { connection: workerConnection(args.ssh, args.address), create: WRITE_RELEASE_FILE, stdin: args.releaseFile },
      { ...child, dependsOn: [this.ready] },
    );

    // The managed ruleset: boot data's plus the operators' database grants, which come and go.
    const managed = renderNftFile(workerRuleset({ subnet: args.wireguard.subnet, databaseGrants: args.databaseGrants }));
    this.keep(renderPlain(`nodes/${name}/nftables.nft`, managed));
    new command.remote.Command(
      `${name}-firewall`,
      { connection: workerConnection(args.ssh, args.address), create: renderScript("host/firewall-sync.sh"), update: renderScript("host/firewall-sync.sh"), stdin: managed },
      { ...child, dependsOn: [this.ready] },
    );

    new command.remote.Command(
      `${name}-authorized-keys`,
      { connection: workerConnection(args.ssh, args.address), create: INSTALL_AUTHORIZED_KEYS, stdin: args.authorizedKeys },
      { ...child, dependsOn: [this.ready] },
    );

    this.backupTools = new command.remote.Command(
      `${name}-backup-tools`,
      { connection: workerConnection(args.ssh, args.address), create: renderScript("host/install-files.sh"), stdin: backupToolsPayload(args.backupTimes) },
      { ...child, dependsOn: [this.ready] },
    );

    // Every minute: containers, disk, memory and the WireGuard handshake, pushed to Kuma. Silence means a dead worker.
    this.healthPushToken = new random.RandomPassword(`${name}-health-token`, { length: 32, special: false }, child).result;
    new command.remote.Command(
      `${name}-health-agent`,
      {
        connection: workerConnection(args.ssh, args.address),
        create: renderScript("host/install-files.sh"),
        stdin: pulumi.secret(this.healthPushToken.apply((token) => healthAgentPayload(`${args.kumaPushBase}${token}`, args.consoleReportUrl !== undefined ? { url: args.consoleReportUrl, worker: name } : undefined))),
      },
      { ...child, dependsOn: [this.ready] },
    );

    this.registerOutputs({ address: this.address, publicKey: this.publicKey, serverId: this.server.id });
  }
}
