import { connect } from "node:net";
import type { Outcome } from "../result";

/** Refused still reached the host: only silence means a firewall dropped the packet. */
export type PortState = "open" | "refused" | "filtered";

export interface SweepOptions {
  concurrency?: number;
  timeoutMs?: number;
}

/** "1-65535", "22", "22,80,8000-8010" → the sorted, distinct ports. Throws naming the bad part. */
export function parsePorts(spec: string): number[] {
  const out = new Set<number>();
  for (const part of spec.split(",")) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    const lo = Number(m?.[1]);
    const hi = m?.[2] === undefined ? lo : Number(m[2]);
    if (!m || lo < 1 || hi > 65535 || lo > hi) throw new Error(`"${part}" is not a port or range within 1-65535`);
    for (let p = lo; p <= hi; p++) out.add(p);
  }
  return [...out].sort((x, y) => x - y);
}

export function probePort(host: string, port: number, timeoutMs: number): Promise<PortState> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const done = (state: PortState): void => {
      socket.destroy();
      resolve(state);
    };
    socket.setTimeout(timeoutMs, () => done("filtered"));
    socket.once("connect", () => done("open"));
    socket.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ECONNREFUSED") return done("refused");
      // An ICMP "unreachable" is a firewall's answer too; running out of sockets is ours and must not read as filtered.
      if (err.code === "EHOSTUNREACH" || err.code === "ENETUNREACH" || err.code === "ETIMEDOUT") return done("filtered");
      socket.destroy();
      reject(new Error(`port ${port}: ${err.code ?? err.message}`));
    });
  });
}

/** Connects to every port with a bounded number of sockets in flight; returns only the reachable ones. */
export async function sweep(host: string, ports: readonly number[], opts: SweepOptions = {}): Promise<Map<number, PortState>> {
  const { concurrency = 512, timeoutMs = 1500 } = opts;
  const reachable = new Map<number, PortState>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ports.length) {
      const port = ports[next++]!;
      const state = await probePort(host, port, timeoutMs);
      if (state !== "filtered") reachable.set(port, state);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, ports.length) }, worker));
  return new Map([...reachable].sort(([x], [y]) => x - y));
}

const list = (reachable: Map<number, PortState>): string => {
  const items = [...reachable].map(([p, s]) => `${p} (${s})`);
  return items.length > 20 ? `${items.slice(0, 20).join(", ")} and ${items.length - 20} more` : items.join(", ");
};

/** A worker takes nothing from the internet: its traffic arrives through the tunnel and the mesh. */
export function workerVerdict(host: string, swept: number, reachable: Map<number, PortState>): Outcome {
  if (reachable.size === 0) return { ok: true, detail: `${host}: none of ${swept} ports reachable` };
  return { ok: false, detail: `${host}: reachable ${list(reachable)}` };
}

/** The master answers at most on SSH (to operators' ranges; the runner may be one of them). */
export function masterVerdict(host: string, swept: number, reachable: Map<number, PortState>, sshPort: number): Outcome {
  const extra = new Map([...reachable].filter(([p]) => p !== sshPort));
  const ssh = reachable.has(sshPort) ? `SSH ${sshPort} answered (${reachable.get(sshPort)})` : `SSH ${sshPort} did not answer`;
  if (extra.size > 0) return { ok: false, detail: `${host}: reachable besides SSH: ${list(extra)}; ${ssh}` };
  return { ok: true, detail: `${host}: nothing else of ${swept} ports reachable; ${ssh}` };
}
