/** An nftables ruleset as data. One table, named sets, base chains with a policy. */
export interface NftSet {
  readonly name: string;
  readonly type: "ipv4_addr" | "ipv6_addr";
  readonly elements: readonly string[];
}

export interface NftRule {
  /** Why the rule exists; rendered as an nft comment so `nft list ruleset` explains itself. */
  readonly why: string;
  readonly match: readonly string[];
  readonly verdict: "accept" | "drop" | "reject";
}

export interface NftChain {
  readonly name: string;
  readonly hook: "input" | "forward" | "output";
  readonly policy: "accept" | "drop";
  readonly rules: readonly NftRule[];
}

export interface NftTable {
  readonly name: string;
  readonly sets: readonly NftSet[];
  readonly chains: readonly NftChain[];
}

/** Small builders so rule matches are composed from parts, not free-typed strings. */
export const m = {
  iif: (name: string) => `iifname "${name}"`,
  oif: (name: string) => `oifname "${name}"`,
  oifAny: (names: readonly string[]) => `oifname { ${names.map((n) => `"${n}"`).join(", ")} }`,
  iifAny: (names: readonly string[]) => `iifname { ${names.map((n) => `"${n}"`).join(", ")} }`,
  saddr4: (what: string) => `ip saddr ${what}`,
  daddr4: (what: string) => `ip daddr ${what}`,
  saddr6: (what: string) => `ip6 saddr ${what}`,
  set: (name: string) => `@${name}`,
  dport: (proto: "tcp" | "udp", port: number | string) => `${proto} dport ${port}`,
  ct: (states: string) => `ct state ${states}`,
  /** The TCP port a connection was opened to, before Docker's DNAT rewrote it to the container's. */
  originalTcpPort: (port: number) => `meta l4proto tcp ct original proto-dst ${port}`,
  icmp: () => `meta l4proto { icmp, ipv6-icmp }`,
} as const;

export function renderNftTable(t: NftTable): string {
  const lines: string[] = [`table inet ${t.name} {`];
  for (const s of t.sets) {
    lines.push(`  set ${s.name} {`, `    type ${s.type}`, "    flags interval");
    if (s.elements.length > 0) lines.push(`    elements = { ${s.elements.join(", ")} }`);
    lines.push("  }");
  }
  for (const c of t.chains) {
    lines.push(`  chain ${c.name} {`, `    type filter hook ${c.hook} priority filter; policy ${c.policy};`);
    for (const r of c.rules) {
      lines.push(`    ${[...r.match, r.verdict].join(" ")} comment "${r.why.replaceAll('"', "'")}"`);
    }
    lines.push("  }");
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}

/**
 * The file a host loads at boot: flush our own table only (Docker keeps its
 * iptables-nft tables), then define it. Set elements may be refreshed later
 * by re-running the same file.
 */
export function renderNftFile(t: NftTable): string {
  return [
    "#!/usr/sbin/nft -f",
    `table inet ${t.name}`,
    `delete table inet ${t.name}`,
    "",
    renderNftTable(t),
  ].join("\n");
}

/** Commands that replace a set's elements in place, without touching the chains. */
export function renderNftSetRefresh(table: string, sets: readonly NftSet[]): string {
  const lines: string[] = [];
  for (const s of sets) {
    lines.push(`flush set inet ${table} ${s.name}`);
    if (s.elements.length > 0) lines.push(`add element inet ${table} ${s.name} { ${s.elements.join(", ")} }`);
  }
  return lines.join("\n") + "\n";
}
