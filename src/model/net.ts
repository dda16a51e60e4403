import ipaddr from "ipaddr.js";

/** An IPv4 network in CIDR form, already validated. */
export interface Ipv4Cidr {
  readonly address: ipaddr.IPv4;
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
  return { address: ipaddr.IPv4.parse(addr), prefix, text };
}

/** The CIDR's address is its network address (no host bits set). */
export function isNetworkAligned(text: string): boolean {
  const c = parseIpv4Cidr(text);
  return c !== undefined && networkAddress(c) === c.address.toString();
}

export function containsIpv4(c: Ipv4Cidr, ip: string): boolean {
  return ipaddr.IPv4.parse(ip).match(c.address, c.prefix);
}

// The stack file may write the prefix as "08"; ipaddr wants it plain.
const canonical = (c: Ipv4Cidr): string => `${c.address.toString()}/${c.prefix}`;

export function networkAddress(c: Ipv4Cidr): string {
  return ipaddr.IPv4.networkAddressFromCIDR(canonical(c)).toString();
}

export function broadcastAddress(c: Ipv4Cidr): string {
  return ipaddr.IPv4.broadcastAddressFromCIDR(canonical(c)).toString();
}

/** The WireGuard hub takes the first host address of the subnet. */
export function hubAddress(c: Ipv4Cidr): string {
  return intToIpv4(ipv4ToInt(networkAddress(c)) + 1);
}

export function isPrivateIpv4Range(c: Ipv4Cidr): boolean {
  return ipaddr.IPv4.parse(networkAddress(c)).range() === "private" && ipaddr.IPv4.parse(broadcastAddress(c)).range() === "private";
}

/**
 * Docker's address ranges, pinned rather than left to Docker's defaults, so
 * that the config rule keeping the mesh out of them is exact.
 */
export const DOCKER_ADDRESS_POOLS = ["172.17.0.0/16", "172.20.0.0/14"] as const;
