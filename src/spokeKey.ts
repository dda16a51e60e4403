import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as command from "@pulumi/command";
import type { types } from "@pulumi/command";
import { wireguardPublicKey } from "./model/wireguard";
import { template } from "./render/templates";
import { confirmKeyCommand, stagedKeyPayload } from "./render/wireguardRotation";

/** A spoke's WireGuard key round (`wireguard.keyRound`), and whether the hub has moved on from the previous one. */
export interface KeyRound {
  readonly round: number;
  readonly previousRetired: boolean;
}

/**
 * The WireGuard key of a node that dials the hub (a worker, Tactical RMM's
 * node), by round. While a rotation is under way both rounds exist: the hub
 * and boot data keep the previous key (`live`), and the next (`current`) is
 * staged on the node until previousRetired gives the hub the new one.
 */
export function spokeKeys(name: string, k: KeyRound, opts: pulumi.CustomResourceOptions): { live: random.RandomBytes; current: random.RandomBytes; publicKey: pulumi.Output<string> } {
  const ofRound = (r: number): random.RandomBytes => new random.RandomBytes(`${name}-wireguard-key${r === 0 ? "" : `-r${r}`}`, { length: 32 }, opts);
  const current = ofRound(k.round);
  const live = k.round > 0 && !k.previousRetired ? ofRound(k.round - 1) : current;
  return { live, current, publicKey: live.base64.apply(wireguardPublicKey) };
}

/**
 * Step 1 stages the next config on the node (it switches by itself once the
 * hub has its new key: templates/host/wireguard-rotate.sh); step 2, after the
 * hub-sync that gives the hub that key, confirms the switch over the mesh.
 */
export function spokeKeyRotation(
  name: string,
  a: {
    readonly key: KeyRound;
    readonly connection: types.input.remote.ConnectionArgs;
    /** The node's wg0.conf with the current round's key. */
    readonly nextConf: pulumi.Output<string>;
    readonly hubAddress: string;
    readonly publicKey: pulumi.Output<string>;
    readonly ready: pulumi.Resource;
    readonly hubSynced: pulumi.Resource;
  },
  opts: pulumi.CustomResourceOptions,
): void {
  if (a.key.round === 0) return;
  const staged = new command.remote.Command(
    `${name}-wireguard-next`,
    { connection: a.connection, create: template("host/install-files.sh"), stdin: pulumi.secret(a.nextConf.apply((conf) => stagedKeyPayload(conf, a.hubAddress))) },
    { ...opts, dependsOn: [a.ready] },
  );
  if (!a.key.previousRetired) return;
  new command.remote.Command(`${name}-wireguard-confirm`, { connection: a.connection, create: a.publicKey.apply(confirmKeyCommand) }, { ...opts, dependsOn: [staged, a.hubSynced] });
}
