import ipaddr from "ipaddr.js";

/** An IPv4 network in CIDR form, already validated. */
export interface Ipv4Cidr {
  readonly network: number;
  readonly prefix: number;
  readonly text: string;
}

export function isIpv4(text: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(text);
}

/** True for an IPv4 or IPv6 CIDR such as `198.51.100.0/24` or `2001:db8::/32`. */
export function isCidr(text: string): boolean {
  if (!text.includes("/")) return false;
  try {
    const [addr] = ipaddr.parseCIDR(text);
    // ipaddr accepts "1.2.3/24"; insist on the four-part form people write.
    return addr.kind() === "ipv6" || isIpv4(text.split("/")[0] ?? "");
  } catch {
    return false;
  }
}

export function cidrPrefix(text: string): number {
  return ipaddr.parseCIDR(text)[1];
}

export function ipv4ToInt(text: string): number {
  const o = ipaddr.IPv4.parse(text).octets;
  return ((o[0]! << 24) >>> 0) + (o[1]! << 16) + (o[2]! << 8) + o[3]!;
}

export function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export function parseIpv4Cidr(text: string): Ipv4Cidr | undefined {
  const [addr, prefixText] = text.split("/");
  if (addr === undefined || prefixText === undefined || !isIpv4(addr) || !/^\d{1,2}$/.test(prefixText)) {
    return undefined;
  }
  const prefix = Number(prefixText);
  if (prefix > 32) return undefined;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { network: (ipv4ToInt(addr) & mask) >>> 0, prefix, text };
}

/** The CIDR's address is its network address (no host bits set). */
export function isNetworkAligned(text: string): boolean {
  const c = parseIpv4Cidr(text);
  return c !== undefined && intToIpv4(c.network) === text.split("/")[0];
}

export function cidrSize(c: Ipv4Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function containsIpv4(c: Ipv4Cidr, ip: string): boolean {
  const n = ipv4ToInt(ip);
  return n >= c.network && n < c.network + cidrSize(c);
}

export function networkAddress(c: Ipv4Cidr): string {
  return intToIpv4(c.network);
}

export function broadcastAddress(c: Ipv4Cidr): string {
  return intToIpv4(c.network + cidrSize(c) - 1);
}

/** The WireGuard hub takes the first host address of the subnet. */
export function hubAddress(c: Ipv4Cidr): string {
  return intToIpv4(c.network + 1);
}

export function isPrivateIpv4Range(c: Ipv4Cidr): boolean {
  return ipaddr.IPv4.parse(intToIpv4(c.network)).range() === "private" &&
    ipaddr.IPv4.parse(broadcastAddress(c)).range() === "private";
}
