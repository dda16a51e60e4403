/** A wg-quick configuration as data; rendered to the INI form WireGuard reads. */
export interface WgInterface {
  readonly privateKey: string;
  readonly address?: string;
  readonly listenPort?: number;
  readonly postUp?: readonly string[];
}

export interface WgPeer {
  /** Written as a comment above the peer, so an operator can read the file. */
  readonly name: string;
  readonly publicKey: string;
  readonly allowedIps: readonly string[];
  readonly endpoint?: string;
  readonly persistentKeepalive?: number;
}

export interface WgConfig {
  readonly interface?: WgInterface;
  readonly peers: readonly WgPeer[];
}

export function renderWgConf(c: WgConfig): string {
  const blocks: string[][] = [];
  if (c.interface) {
    const i = c.interface;
    blocks.push([
      "[Interface]",
      `PrivateKey = ${i.privateKey}`,
      ...(i.address ? [`Address = ${i.address}`] : []),
      ...(i.listenPort ? [`ListenPort = ${i.listenPort}`] : []),
      ...(i.postUp ?? []).map((cmd) => `PostUp = ${cmd}`),
    ]);
  }
  for (const p of c.peers) {
    blocks.push([
      `# ${p.name}`,
      "[Peer]",
      `PublicKey = ${p.publicKey}`,
      `AllowedIPs = ${p.allowedIps.join(", ")}`,
      ...(p.endpoint ? [`Endpoint = ${p.endpoint}`] : []),
      ...(p.persistentKeepalive ? [`PersistentKeepalive = ${p.persistentKeepalive}`] : []),
    ]);
  }
  return blocks.map((b) => b.join("\n")).join("\n\n") + "\n";
}
