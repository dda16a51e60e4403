import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as command from "@pulumi/command";
import type { types } from "@pulumi/command";
import { wireguardPublicKey } from "../model/wireguard";
import { renderScript } from "../render/script";
import { confirmKeyCommand, stagedKeyPayload } from "../render/wireguardRotation";

/** A WireGuard key's round (`keyRound`), and whether the previous round is retired (`previousKeyRetired`). */
export interface KeyRound {
  readonly round: number;
  readonly previousRetired: boolean;
}

/** Whether a rotation is between its two steps: both rounds exist, the previous one still live. */
export const inStep1 = (k: KeyRound): boolean => k.round > 0 && !k.previousRetired;

/**
 * A node's WireGuard key, by round. While a rotation is under way both rounds
 * exist: what the mesh knows keeps the previous key (`live`), and the next
 * (`current`) waits to be switched to.
 */
export function keyRounds(name: string, k: KeyRound, opts: pulumi.CustomResourceOptions): { live: random.RandomBytes; current: random.RandomBytes; publicKey: pulumi.Output<string>; currentPublicKey: pulumi.Output<string> } {
  const ofRound = (r: number): random.RandomBytes => new random.RandomBytes(`${name}-wireguard-key${r === 0 ? "" : `-r${r}`}`, { length: 32 }, opts);
  const current = ofRound(k.round);
  const live = inStep1(k) ? ofRound(k.round - 1) : current;
  return { live, current, publicKey: live.base64.apply(wireguardPublicKey), currentPublicKey: current.base64.apply(wireguardPublicKey) };
}

/** What a spoke (a worker, Tactical RMM's node) knows of the hub's key rotation. */
export interface HubKeyState {
  readonly key: KeyRound;
  /** The hub's live public key: in the spoke's boot data, and the hub peer it confirms. */
  readonly publicKey: pulumi.Input<string>;
  /** The master's delayed switch to its next key (step 2 of the hub's rotation), when this `up` makes it. */
  readonly switched?: pulumi.Resource;
}

/** The hub as a spoke (a worker, Tactical RMM's node) dials it. */
export interface SpokeHub {
  /** The hub's live public key, in the spoke's boot data. */
  readonly publicKey: pulumi.Input<string>;
  /** The hub's current round's key, which a spoke stages while the hub's rotation is between its steps. */
  readonly nextPublicKey: pulumi.Input<string>;
  /** The master's pinned address. */
  readonly ipv4Address: pulumi.Input<string>;
  readonly rotation: HubKeyState;
}

/**
 * A spoke's side of either rotation, its own key's or the hub's. Step 1
 * stages its next config (its current key, the hub's current key) with the
 * unit that switches to it once the hub stops answering the live one
 * (templates/host/wireguard-rotate.sh). Once neither rotation is between its
 * steps, a confirm over the mesh checks the spoke ended on the right keys.
 */
export function spokeKeyRotation(
  name: string,
  a: {
    readonly key: KeyRound;
    /** The spoke's keys by round (keyRounds). */
    readonly keys: ReturnType<typeof keyRounds>;
    readonly hub: SpokeHub;
    /** The spoke's wg0.conf for a private key and the hub's public key and address. */
    readonly render: (privateKey: string, hubPublicKey: string, hubIp: string) => string;
    readonly hubAddress: string;
    readonly connection: types.input.remote.ConnectionArgs;
    readonly ready: pulumi.Resource;
    readonly hubSynced: pulumi.Resource;
  },
  opts: pulumi.CustomResourceOptions,
): void {
  const hub = a.hub.rotation;
  if (a.key.round === 0 && hub.key.round === 0) return;
  // The spoke's current key and the hub's: either may be the one rotating.
  const nextConf = pulumi.all([a.keys.current.base64, a.hub.nextPublicKey, a.hub.ipv4Address]).apply(([key, hubKey, hubIp]) => a.render(key, hubKey, hubIp));
  const staged = new command.remote.Command(
    `${name}-wireguard-next`,
    { connection: a.connection, create: renderScript("host/install-files.sh"), stdin: pulumi.secret(nextConf.apply((conf) => stagedKeyPayload(conf, a.hubAddress))) },
    { ...opts, dependsOn: [a.ready] },
  );
  if (inStep1(a.key) || inStep1(hub.key)) return;
  new command.remote.Command(
    `${name}-wireguard-confirm`,
    { connection: a.connection, create: pulumi.all([a.keys.publicKey, hub.publicKey]).apply(([own, hubKey]) => confirmKeyCommand(own, hubKey)) },
    { ...opts, dependsOn: [staged, a.hubSynced, ...(hub.switched !== undefined ? [hub.switched] : [])] },
  );
}
