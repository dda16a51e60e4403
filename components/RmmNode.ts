import * as pulumi from "@pulumi/pulumi";
import { WRITE_RELEASE_FILE } from "../src/resources/infraRelease";
import * as hcloud from "@pulumi/hcloud";
import * as cloudflare from "@pulumi/cloudflare";
import * as command from "@pulumi/command";
import { FleetComponent } from "../src/resources/component";
import { workerConnection, type SshPath } from "../src/resources/connections";
import { labels } from "../src/resources/labels";
import { serverArgs } from "../src/resources/servers";
import { keyRounds, spokeKeyRotation, type SpokeHub } from "../src/resources/wireguardKeys";
import type { RmmPlan } from "../src/plan/types";
import { renderPlain, renderWithSecrets } from "../src/render/artifact";
import { renderNftFile } from "../src/render/nftables";
import { renderScript } from "../src/render/script";
import { INSTALL_AUTHORIZED_KEYS } from "../src/render/authorizedKeys";
import { nodeReadyCommand, renderBootData } from "../src/render/bootData";
import { rmmFirewallRules } from "../src/render/cloudFirewall";
import { rmmRuleset } from "../src/render/hostFirewall";
import type { HubPeer } from "../src/render/hub";
import { renderWgConf } from "../src/render/wireguardConf";
import { workerConfig, type MeshShape } from "../src/render/mesh";

export interface RmmNodeArgs {
  readonly env: string;
  /** /etc/supafleet/release: which commit of supafleet last applied this host. */
  readonly releaseFile: string;
  readonly protect: boolean;
  readonly location: string;
  readonly image: string;
  readonly rmm: RmmPlan;
  readonly zoneId: string;
  readonly wireguard: MeshShape;
  readonly hub: SpokeHub;
  readonly sshKeyIds: pulumi.Input<pulumi.Input<string>[]>;
  readonly authorizedKeys: pulumi.Input<string>;
  readonly ssh: SshPath;
  readonly hubSynced: pulumi.Resource;
  /** Where TRMM's alert webhook goes: n8n's webhook gate on the hub, over WireGuard. */
  readonly alertWebhookUrl: string;
}

/**
 * Tactical RMM's own server (its installer wants a fresh host). It joins the
 * mesh like a worker and is the one node with public web ports. Its names
 * point straight at it, DNS-only: TRMM's agents and its Let's Encrypt
 * wildcard do not work behind Cloudflare's proxy. What the server installs
 * and what stays manual is in docs/operations.md.
 */
export class RmmNode extends FleetComponent {
  readonly server: hcloud.Server;
  readonly firewall: hcloud.Firewall;
  readonly publicKey: pulumi.Output<string>;
  readonly hubPeer: pulumi.Output<HubPeer>;
  readonly ready: command.remote.Command;

  constructor(name: string, args: RmmNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("supafleet:index:RmmNode", name, opts);
    const child = { parent: this };
    const r = args.rmm;

    this.firewall = new hcloud.Firewall(
      `${name}-firewall`,
      { name: `${args.env}-${name}`, labels: labels(args.env, "rmm"), rules: rmmFirewallRules(r.nats) },
      child,
    );

    const keys = keyRounds(name, r.wireguardKey, child);
    const wgKey = keys.live;
    this.publicKey = keys.publicKey;
    this.hubPeer = this.publicKey.apply((publicKey) => ({ name, address: r.address, publicKey }));

    const wgConf = (privateKey: string, hubKey: string, hubIp: string): string =>
      renderWgConf(workerConfig(args.wireguard, { privateKey, address: r.address, hubPublicKey: hubKey, hubIp }));
    const firewall = pulumi.output(rmmRuleset({ subnet: args.wireguard.subnet, nats: r.nats }));
    const secrets = { wireguardPrivateKey: wgKey.base64 };
    const hub = pulumi.all([args.hub.publicKey, args.hub.ipv4Address, firewall]);
    this.keep(renderPlain(`nodes/${name}/nftables.nft`, firewall.apply(renderNftFile)));
    const userData = this.keep(
      renderWithSecrets(`nodes/${name}/cloud-init.yaml`, secrets, (s) =>
        hub.apply(([hubKey, hubIp, rules]) => renderBootData({ hostname: `${args.env}-${name}`, role: "rmm", wireguardConf: wgConf(s.wireguardPrivateKey, hubKey, hubIp), firewall: rules })),
      ),
    );

    this.server = new hcloud.Server(
      `${name}-server`,
      serverArgs({ ...args, serverType: r.serverType }, {
        name: `${args.env}-${name}`,
        sshKeyIds: args.sshKeyIds,
        firewall: this.firewall,
        publicNets: [{ ipv4Enabled: true, ipv6Enabled: true }],
        userData,
        labels: labels(args.env, "rmm", { release: r.release }),
      }),
      // Boot data and Hetzner's ssh keys only seed the first boot: a rotated WireGuard key reaches the node through
      // wireguard-next below, a rotated deploy key through authorized-keys. Neither replaces it.
      { ...child, protect: args.protect, ignoreChanges: ["userData", "sshKeys"] },
    );

    // DNS-only (grey cloud): agents and the installer's certificate need the server itself.
    for (const [key, hostname] of Object.entries(r.hostnames)) {
      new cloudflare.DnsRecord(
        `${name}-dns-${key}-a`,
        { zoneId: args.zoneId, name: hostname, type: "A", content: this.server.ipv4Address, proxied: false, ttl: 300, comment: `supafleet ${args.env}: Tactical RMM` },
        child,
      );
      new cloudflare.DnsRecord(
        `${name}-dns-${key}-aaaa`,
        { zoneId: args.zoneId, name: hostname, type: "AAAA", content: this.server.ipv6Address, proxied: false, ttl: 300, comment: `supafleet ${args.env}: Tactical RMM` },
        child,
      );
    }

    const connection = workerConnection(args.ssh, r.address);
    this.ready = new command.remote.Command(
      `${name}-ready`,
      { connection, create: nodeReadyCommand("latest-handshakes") },
      { ...child, dependsOn: [this.server, args.hubSynced] },
    );
    spokeKeyRotation(
      name,
      { key: r.wireguardKey, keys, hub: args.hub, render: wgConf, hubAddress: args.wireguard.hub, connection: connection, ready: this.ready, hubSynced: args.hubSynced },
      child,
    );
    new command.remote.Command(`${name}-authorized-keys`, { connection, create: INSTALL_AUTHORIZED_KEYS, stdin: args.authorizedKeys }, { ...child, dependsOn: [this.ready] });
    new command.remote.Command(`${name}-release`, { connection, create: WRITE_RELEASE_FILE, stdin: args.releaseFile }, { ...child, dependsOn: [this.ready] });

    const prepare = renderScript("rmm/rmm-prepare.sh", {
      RELEASE: r.release,
      RMM_HOST: r.hostnames.rmm,
      API_HOST: r.hostnames.api,
      MESH_HOST: r.hostnames.mesh,
      ALERT_WEBHOOK_URL: args.alertWebhookUrl,
    });
    this.keep(renderPlain(`nodes/${name}/prepare.sh`, prepare));
    new command.remote.Command(`${name}-prepare`, { connection, create: prepare, update: prepare }, { ...child, dependsOn: [this.ready] });

    this.registerOutputs({ address: r.address, release: r.release, hostnames: r.hostnames, publicKey: this.publicKey, ipv4Address: this.server.ipv4Address });
  }
}
