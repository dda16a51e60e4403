/** A Hetzner firewall rule's `port`: "22", "8000-8443" or "any". Undefined for ICMP and friends. */
export function portRange(port: unknown): [number, number] | undefined {
  if (typeof port !== "string") return undefined;
  if (port === "any") return [1, 65535];
  const m = /^(\d+)(?:-(\d+))?$/.exec(port.trim());
  if (m === null) return undefined;
  const lo = Number(m[1]);
  return [lo, m[2] !== undefined ? Number(m[2]) : lo];
}

export function opens(port: unknown, target: number): boolean {
  const r = portRange(port);
  return r !== undefined && r[0] <= target && target <= r[1];
}
