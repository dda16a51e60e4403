import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { N8N_CONTAINER, N8N_DIR, N8N_ENV_FILE, N8N_IMAGE, N8N_PORT, n8nCompose } from "../../src/automation/n8nCompose";
import { renderScript } from "../../src/render/script";
import { docker, dockerEnv, ENGINE_NETNS } from "../lab/engine";

export { N8N_CONTAINER };
/** The scripts as the Automations component renders them. */
export const N8N_INSTALL = renderScript("master/n8n-install.sh");
export const N8N_RECONCILE = renderScript("master/n8n-reconcile.sh");

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Process groups of the commands still running, for LabN8n.remove() after a test that timed out. */
const running = new Set<number>();
const killGroup = (pid: number): void => {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // gone already
  }
};

/**
 * Runs a command without blocking this process: the stand-ins n8n calls live
 * in it, and a synchronous wait would leave n8n's requests unanswered.
 * `netns`: in the lab engine's network namespace, where n8n's host network is.
 * On timeout the command and everything it started are killed (its process
 * group), and the error says what it printed so far.
 */
export function runAsync(argv: readonly string[], opts: { input?: string; env?: NodeJS.ProcessEnv; netns?: boolean; timeoutMs?: number } = {}): Promise<Run> {
  const full = opts.netns ? ["nsenter", `--net=/var/run/netns/${ENGINE_NETNS}`, ...argv] : [...argv];
  return new Promise((resolve, reject) => {
    const p = spawn(full[0]!, full.slice(1), { env: dockerEnv(opts.env ?? process.env), stdio: ["pipe", "pipe", "pipe"], detached: true });
    const pid = p.pid!;
    running.add(pid);
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    // A command that exits without reading its stdin is not an error here.
    p.stdin.on("error", () => undefined);
    p.stdin.end(opts.input ?? "");
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => {
      killGroup(pid);
      reject(new Error(`${argv.slice(0, 6).join(" ")} … did not finish within ${opts.timeoutMs! / 1000} s; so far:\n${stdout}${stderr}`));
    }, opts.timeoutMs);
    p.on("error", reject);
    p.on("close", (code, signal) => {
      clearTimeout(timer);
      running.delete(pid);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * The master's n8n on the lab's Docker engine: n8n-install.sh brings up the
 * compose file n8nCompose renders (image n8nio/n8n:1.123.81, host network, so
 * n8n listens on 127.0.0.1:5678 in the engine's namespace), and
 * n8n-reconcile.sh runs in that namespace, as it does on the master's host.
 * The folder and key file are this test's instead of /opt and /etc.
 */
export class LabN8n {
  readonly home = mkdtempSync(join(tmpdir(), "supafleet-n8n-"));
  /** N8N_DIR: compose.yaml, and data/ (/home/node/.n8n in the container: database, custom/ extensions). */
  readonly dir = join(this.home, "n8n");
  readonly data = join(this.dir, "data");
  readonly envFile = join(this.home, "etc/n8n.env");
  /** GATE_CONFIG_FILE: the webhook gate's config, secret included, beside the key file. */
  readonly gateFile = join(this.home, "etc/gate.json");

  /** The compose file as rendered for the master, with this test's folders instead of /opt and /etc. */
  compose(hostname = "n8n.test.invalid"): string {
    const file = parse(n8nCompose(hostname, undefined)) as { services: { n8n: { volumes: string[]; env_file: string[] } } };
    const svc = file.services.n8n;
    if (JSON.stringify(svc.volumes) !== JSON.stringify([`${N8N_DIR}/data:/home/node/.n8n`]) || JSON.stringify(svc.env_file) !== JSON.stringify([N8N_ENV_FILE])) {
      throw new Error(`n8nCompose changed shape; update tests/helpers/n8n.ts: ${JSON.stringify(svc)}`);
    }
    svc.volumes = [`${this.data}:/home/node/.n8n`];
    svc.env_file = [this.envFile];
    return stringify(file);
  }

  /**
   * n8n-install.sh with this payload, as the master's Automations component runs it. The gate's
   * config goes where the script puts it; its Compose service does not run here (startGate does).
   */
  install(encryptionKey: string, extensions: { name: string; text: string }[], timeoutMs: number, gate: string | null = null): Promise<Run> {
    mkdirSync(this.home, { recursive: true });
    const payload = { images: [N8N_IMAGE], compose: this.compose(), gate, extensions, env: { N8N_ENCRYPTION_KEY: encryptionKey } };
    return runAsync(["bash", "-c", N8N_INSTALL], { input: JSON.stringify(payload), netns: true, env: { ...process.env, N8N_DIR: this.dir, N8N_ENV_FILE: this.envFile, N8N_GATE_FILE: this.gateFile }, timeoutMs });
  }

  /**
   * The webhook gate: Debian's Caddy with the config n8n-install.sh wrote, in n8n's network
   * namespace as on the master's host network. Stopped by remove().
   */
  startGate(): ChildProcess {
    const p = spawn("nsenter", [`--net=/var/run/netns/${ENGINE_NETNS}`, "caddy", "run", "--config", this.gateFile], {
      env: { ...process.env, HOME: this.home, XDG_DATA_HOME: this.home, XDG_CONFIG_HOME: this.home },
      stdio: "ignore",
    });
    this.children.add(p);
    return p;
  }

  /** n8n-reconcile.sh with the desired state on stdin, in n8n's network namespace (it talks to 127.0.0.1:5678). */
  reconcile(desired: object, secretsFile: string, timeoutMs: number): Promise<Run> {
    return runAsync(["bash", "-c", N8N_RECONCILE], { input: JSON.stringify(desired), netns: true, env: { ...process.env, N8N_SECRETS: secretsFile, N8N_DATA: this.data }, timeoutMs });
  }

  /** Stops the container, giving n8n a minute to shut down and close its database. */
  stop(): Promise<Run> {
    return runAsync(["docker", "stop", "-t", "60", N8N_CONTAINER], { timeoutMs: 90_000 });
  }

  /** Another command in the container. */
  exec(argv: string[]): Promise<Run> {
    return runAsync(["docker", "exec", N8N_CONTAINER, ...argv], { timeoutMs: 60_000 });
  }

  /** An HTTP request to n8n at 127.0.0.1:5678 in its namespace, as cloudflared on the master makes them. */
  async http(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}, opts: { cookies?: boolean } = {}): Promise<{ status: number; text: string; cookies: string[] }> {
    // (The response's headers, when asked for,) the body, then the status.
    const argv = ["curl", "-sS", "--max-time", "30", "-o", "-", "-w", "\n%{http_code}", "-X", init.method ?? "GET"];
    if (opts.cookies) argv.push("-D", "-");
    for (const [k, v] of Object.entries(init.headers ?? {})) argv.push("-H", `${k}: ${v}`);
    if (init.body !== undefined) argv.push("--data-binary", "@-");
    argv.push(`http://127.0.0.1:${N8N_PORT}${path}`);
    const r = await runAsync(argv, { input: init.body, netns: true, timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`curl ${path} failed: ${r.stderr}`);
    const cut = r.stdout.lastIndexOf("\n");
    let text = r.stdout.slice(0, cut);
    let cookies: string[] = [];
    if (opts.cookies) {
      const end = text.indexOf("\r\n\r\n");
      cookies = text.slice(0, end).split("\r\n").filter((l) => /^set-cookie:/i.test(l)).map((l) => l.replace(/^set-cookie:\s*/i, ""));
      text = text.slice(end + 4);
    }
    return { status: Number(r.stdout.slice(cut + 1)), text, cookies };
  }

  /** The container as the engine sees it. */
  inspect(): { Id: string; State: { Running: boolean; StartedAt: string; Health?: { Status: string } }; Config: { User: string; Image: string }; HostConfig: { NetworkMode: string } } {
    return JSON.parse(docker(["inspect", N8N_CONTAINER]).stdout)[0];
  }

  /**
   * The engine's events of the container from now on, as "action" lines, until
   * stopped. Streamed: the engine keeps only its last 256 events, and the
   * other tests' containers make many.
   */
  events(): { stop: () => string[] } {
    const p = spawn("docker", ["events", "--since", (Date.now() / 1000).toFixed(3), "--filter", `container=${N8N_CONTAINER}`, "--format", "{{.Action}}"], { env: dockerEnv(), stdio: ["ignore", "pipe", "ignore"] });
    this.children.add(p);
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    return {
      stop: () => {
        p.kill();
        this.children.delete(p);
        return out.split("\n").filter(Boolean);
      },
    };
  }
  private readonly children = new Set<ChildProcess>();

  /** Removes the container (and a leftover of an earlier run) and this test's folders. */
  static removeContainer(): void {
    docker(["rm", "-f", "-v", N8N_CONTAINER], { allowFail: true });
  }

  remove(): void {
    for (const p of this.children) p.kill();
    for (const pid of running) killGroup(pid);
    LabN8n.removeContainer();
    rmSync(this.home, { recursive: true, force: true });
  }
}
