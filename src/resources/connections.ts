import type * as pulumi from "@pulumi/pulumi";
import type { types } from "@pulumi/command";
import { renderScript } from "../render/script";

type Connection = types.input.remote.ConnectionArgs;

/** How the program's commands reach servers: the deploy key, the master as bastion. */
export interface SshPath {
  /** The master's public address (a pinned primary IP). */
  readonly masterHost: pulumi.Input<string>;
  readonly privateKey: pulumi.Input<string>;
}

// Servers take a minute or two to boot; keep dialling instead of failing the update.
const patience = { dialErrorLimit: 60, perDialTimeout: 10 } as const;

export function masterConnection(p: SshPath): Connection {
  return { host: p.masterHost, user: "root", privateKey: p.privateKey, ...patience };
}

/** Workers have no public SSH: the connection hops through the master, over WireGuard. */
export function workerConnection(p: SshPath, wireguardAddress: string): Connection {
  return {
    host: wireguardAddress,
    user: "root",
    privateKey: p.privateKey,
    ...patience,
    proxy: { host: p.masterHost, user: "root", privateKey: p.privateKey, ...patience },
  };
}

/** A command that writes its stdin to a root-only file, atomically: secrets the master's scripts read. */
export function writeRootOnlyFile(path: string): string {
  return renderScript("host/root-only-file.sh", { FILE: path });
}
