import ipaddr from "ipaddr.js";

/** A CIDR as an inclusive interval of addresses, IPv4 or IPv6, as bigints. */
interface Interval {
  readonly kind: "ipv4" | "ipv6";
  readonly start: bigint;
  readonly end: bigint;
}

const BITS = { ipv4: 32, ipv6: 128 } as const;

function toBigInt(addr: ipaddr.IPv4 | ipaddr.IPv6): bigint {
  return addr.toByteArray().reduce((n, b) => (n << 8n) | BigInt(b), 0n);
}

function interval(cidr: string): Interval {
  const [addr, prefix] = ipaddr.parseCIDR(cidr);
  const kind = addr.kind();
  const host = BigInt(BITS[kind] - prefix);
  const start = (toBigInt(addr) >> host) << host;
  return { kind, start, end: start + (1n << host) - 1n };
}

/** The network address a CIDR with host bits set was probably meant to be, e.g. 198.51.100.0/24 for 198.51.100.7/24. */
export function withoutHostBits(cidr: string): string | undefined {
  const [addr, prefix] = ipaddr.parseCIDR(cidr);
  const network = addr.kind() === "ipv4" ? ipaddr.IPv4.networkAddressFromCIDR(cidr) : ipaddr.IPv6.networkAddressFromCIDR(cidr);
  return network.toString() === addr.toString() ? undefined : `${network.toString()}/${prefix}`;
}

/**
 * Which address families the ranges cover completely, together: 0.0.0.0/1
 * and 128.0.0.0/1 are the whole IPv4 internet as surely as 0.0.0.0/0 is.
 */
export function wholeInternetCovered(cidrs: readonly string[]): ("IPv4" | "IPv6")[] {
  const out: ("IPv4" | "IPv6")[] = [];
  for (const kind of ["ipv4", "ipv6"] as const) {
    const sorted = cidrs
      .map(interval)
      .filter((i) => i.kind === kind)
      .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    let next = 0n;
    for (const i of sorted) {
      if (i.start > next) break;
      if (i.end + 1n > next) next = i.end + 1n;
    }
    if (sorted.length > 0 && next === 1n << BigInt(BITS[kind])) out.push(kind === "ipv4" ? "IPv4" : "IPv6");
  }
  return out;
}

/** Whether two CIDRs (of one family) share any address. */
export function overlaps(a: string, b: string): boolean {
  const x = interval(a);
  const y = interval(b);
  return x.kind === y.kind && x.start <= y.end && y.start <= x.end;
}
