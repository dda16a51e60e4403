import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";

/** Each host's link to the shared "internet" switch, named as images with predictable interface names do. */
export const PUBLIC_INTERFACE = "enp1s0";

/**
 * A small network of test hosts in network namespaces, joined by one bridge
 * on documentation addresses (192.0.2.0/24). Each host also gets a private
 * mount namespace so that its /etc/wireguard, /etc/nftables.d,
 * /run/wireguard, /usr/local/lib/supafleet and /etc/systemd/system are its
 * own: the real paths, the real scripts, no trace on the machine but those empty mountpoints. Everything is torn down by `down()`, which is safe to call
 * after a partial `up()`.
 */
export interface HostSpec {
  readonly name: string;
  readonly underlay: string;
  /** A public IPv6 address (2001:db8::/64), as Hetzner gives every server one. */
  readonly underlay6?: string;
}

/** What a full TCP sweep found: every port that answered (open, or closed with a reset) rather than being dropped. */
export interface Sweep {
  readonly reachable: readonly number[];
  readonly reachableCount: number;
}

// What the host scripts write, each host its own: WireGuard, nftables, and the tools and units install-files puts down.
// Each is a tmpfs in the host's mount namespace, over the machine's directory, which is created if missing and
// never removed: removing it (rmdir) while another lab runs detaches that lab's tmpfs from every namespace where it
// is mounted. Its wireguard-go's socket vanishes from /run/wireguard, and `wg` then falls back to the kernel:
// "Unable to access interface: Protocol not supported" (issue 23).
const PRIVATE_DIRS = ["/run/wireguard", "/etc/wireguard", "/etc/nftables.d", "/usr/local/lib/supafleet", "/etc/systemd/system"] as const;

// Labs alive at once must not share a name (their namespaces, veths and the processes down() kills are found by it):
// vitest gives each test file its own process, so the pid tells files apart and a count tells one file's labs apart.
let labsInProcess = 0;

export class Lab {
  readonly id = `sf${process.pid.toString(36)}-${(++labsInProcess).toString(36)}`;
  private readonly anchors = new Map<string, ChildProcess>();
  private readonly namespaces: string[] = [];

  ns(host: string): string {
    return `${this.id}-${host}`;
  }

  async up(hosts: readonly HostSpec[]): Promise<void> {
    for (const dir of PRIVATE_DIRS) mkdirSync(dir, { recursive: true });
    const sw = this.addNamespace("sw");
    run("ip", ["-n", sw, "link", "add", "br0", "type", "bridge"]);
    run("ip", ["-n", sw, "link", "set", "br0", "up"]);
    hosts.forEach((h, i) => {
      const ns = this.addNamespace(h.name);
      const [a, b] = [`${this.id}a${i}`, `${this.id}b${i}`];
      run("ip", ["link", "add", a, "type", "veth", "peer", "name", b]);
      run("ip", ["link", "set", a, "netns", ns]);
      // Not eth0: the host firewalls must not depend on what the image calls its public interface.
      run("ip", ["-n", ns, "link", "set", a, "name", PUBLIC_INTERFACE]);
      run("ip", ["link", "set", b, "netns", sw]);
      run("ip", ["-n", sw, "link", "set", b, "master", "br0"]);
      run("ip", ["-n", sw, "link", "set", b, "up"]);
      run("ip", ["-n", ns, "addr", "add", `${h.underlay}/24`, "dev", PUBLIC_INTERFACE]);
      if (h.underlay6 !== undefined) run("ip", ["-n", ns, "-6", "addr", "add", `${h.underlay6}/64`, "dev", PUBLIC_INTERFACE, "nodad"]);
      run("ip", ["-n", ns, "link", "set", PUBLIC_INTERFACE, "up"]);
      run("ip", ["-n", ns, "link", "set", "lo", "up"]);
    });
    for (const h of hosts) await this.startAnchor(h.name);
  }

  /** A process that holds the host's mount namespace; commands join it with nsenter. */
  private async startAnchor(host: string): Promise<void> {
    const mounts = PRIVATE_DIRS.map((d) => `mount -t tmpfs -o mode=0700 tmpfs ${d}`).join(" && ");
    const anchor = spawn("ip", ["netns", "exec", this.ns(host), "unshare", "-m", "--propagation", "private", "sh", "-c", `${mounts} && echo ready && exec sleep 3600`], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.anchors.set(host, anchor);
    await new Promise<void>((resolve, reject) => {
      anchor.stdout!.once("data", () => resolve());
      anchor.once("exit", (code) => reject(new Error(`anchor for ${host} exited with ${code}`)));
    });
  }

  /** Runs a command inside the host's network and mount namespaces. */
  exec(host: string, args: readonly string[], opts: { input?: string; env?: Record<string, string> } = {}): string {
    const pid = this.anchors.get(host)?.pid;
    if (pid === undefined) throw new Error(`no host ${host}`);
    const env = Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`);
    return run("nsenter", ["-t", String(pid), "-m", "-n", "env", ...env, ...args], opts.input);
  }

  /**
   * The pid of the process that holds the host's namespaces: `nsenter -t <pid> -m` joins only its mounts
   * (its /run/wireguard, so `wg show` reaches its wireguard-go) while staying on this machine's network.
   */
  anchorPid(host: string): number {
    const pid = this.anchors.get(host)?.pid;
    if (pid === undefined) throw new Error(`no host ${host}`);
    return pid;
  }

  /** Like exec, but returns the exit status instead of throwing. */
  try(host: string, args: readonly string[], input?: string): { status: number; stdout: string } {
    const pid = this.anchors.get(host)!.pid!;
    const r = spawnSync("nsenter", ["-t", String(pid), "-m", "-n", ...args], { encoding: "utf8", input, timeout: 20_000 });
    return { status: r.status ?? 1, stdout: (r.stdout ?? "") + (r.stderr ?? "") };
  }

  /** Starts a long-running process in the host's namespaces; `down()` kills it with the rest. */
  spawn(host: string, args: readonly string[]): ChildProcess {
    const pid = this.anchors.get(host)!.pid!;
    return spawn("nsenter", ["-t", String(pid), "-m", "-n", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  }

  /**
   * An attacker's SYN sweep of all 65535 TCP ports with nmap, from one host.
   * A port is reachable when the packet got through the firewall: a listener
   * answers (open) or the kernel resets (closed). Only a drop is "filtered".
   */
  async sweep(from: string, target: string, rate = 20_000): Promise<Sweep> {
    // On a loaded machine nmap now and then gives up on a host before it has an answer for every
    // port; such a run proves nothing either way, so it is run again.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.sweepOnce(from, target, rate);
      } catch (e) {
        if (attempt === 3 || !(e instanceof IncompleteSweep)) throw e;
      }
    }
  }

  private async sweepOnce(from: string, target: string, rate: number): Promise<Sweep> {
    // 20k probes a second, one retry: fast, and still lossless through wireguard-go (50k was not).
    const out = await this.nmap(from, target, ["--min-rate", String(rate), "--max-rate", String(Math.round(rate * 1.25))]);
    return parseSweep(out, `nmap from ${from} to ${target}`);
  }

  /**
   * The same SYN sweep of all 65535 ports, naming only the open ones (something listens and answers), at
   * `rate` probes a second. For a target that answers every port: twice the packets of a dropping one, which
   * wireguard-go on a loaded machine does not carry at the full sweep's rate. A lost probe can hide an open
   * port, never show one.
   */
  async openPorts(from: string, target: string, rate = 10_000): Promise<number[]> {
    const out = await this.nmap(from, target, ["--min-rate", String(rate), "--max-rate", String(rate), "--open"]);
    if (!out.includes("# Nmap done") || !/\(1 host up\)/.test(out)) throw new Error(`nmap from ${from} to ${target} did not finish:\n${out}`);
    const line = out.split("\n").find((l) => l.includes("Ports:")) ?? "";
    return [...line.matchAll(/(\d+)\/open\/tcp/g)].map(([, port]) => Number(port));
  }

  private async nmap(from: string, target: string, rate: readonly string[]): Promise<string> {
    const pid = this.anchors.get(from)!.pid!;
    const family = target.includes(":") ? ["-6"] : [];
    const nmap = ["nmap", ...family, "-n", "-Pn", "-sS", "-p-", "-T5", "--max-retries", "1", ...rate, "-oG", "-", target];
    return new Promise<string>((resolve, reject) => {
      const child = spawn("nsenter", ["-t", String(pid), "-m", "-n", ...nmap], { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("error", reject);
      child.on("exit", (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(stdout);
        else reject(new Error(`nmap from ${from} to ${target} exited with ${code}: ${stderr}`));
      });
    });
  }

  writeFile(host: string, path: string, content: string, mode = "600"): void {
    this.exec(host, ["sh", "-c", `umask 077 && cat > ${path} && chmod ${mode} ${path}`], { input: content });
  }

  down(): void {
    for (const ns of this.namespaces) {
      // Every process in the namespace: anchors, wireguard-go, listeners.
      const pids = spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).stdout.split("\n").filter(Boolean);
      for (const pid of pids) spawnSync("kill", ["-9", pid]);
    }
    for (const a of this.anchors.values()) a.kill("SIGKILL");
    for (const ns of [...this.namespaces].reverse()) spawnSync("ip", ["netns", "del", ns]);
    // The mountpoints stay (see PRIVATE_DIRS): another lab may have its tmpfs on them.
  }

  private addNamespace(host: string): string {
    const ns = this.ns(host);
    run("ip", ["netns", "add", ns]);
    this.namespaces.push(ns);
    return ns;
  }
}

function run(cmd: string, args: readonly string[], input?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"], timeout: 30_000 });
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")} failed: ${err.stderr || err.stdout || err.message}`);
  }
}

/** Retries until `check` passes or the deadline; WireGuard handshakes take a moment. */
export async function eventually(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

class IncompleteSweep extends Error {}

/** Reads nmap's grepable output: listed ports with their states, and the state and count of the rest. */
function parseSweep(out: string, what: string): Sweep {
  const line = out.split("\n").find((l) => l.includes("Ports:") || l.includes("Ignored State:"));
  if (line === undefined) throw new IncompleteSweep(`${what} printed no port line:\n${out}`);
  const listed = [...(line.match(/Ports: ([^\t]*)/)?.[1] ?? "").matchAll(/(\d+)\/([\w|]+)\/tcp/g)].map(([, port, state]) => ({ port: Number(port), state: state ?? "" }));
  const ignored = line.match(/Ignored State: (\S+) \((\d+)\)/);
  const ignoredCount = ignored !== null ? Number(ignored[2]) : 0;
  if (listed.length + ignoredCount !== 65535) throw new IncompleteSweep(`${what} accounted for ${listed.length + ignoredCount} ports, not 65535:\n${line}`);
  const reachable = listed.filter((p) => !p.state.includes("filtered")).map((p) => p.port);
  const ignoredReachable = ignored !== null && !ignored[1]!.includes("filtered") ? ignoredCount : 0;
  return { reachable, reachableCount: reachable.length + ignoredReachable };
}
