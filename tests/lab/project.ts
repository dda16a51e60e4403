import { FULL_SERVICES, workerServices, type ProjectShape } from "../../src/model/projectServices";
import type { ServiceName } from "../../src/model/services";
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { projectPorts, type ProjectPorts } from "../../src/model/ports";
import { renderScript } from "../../src/render/script";
import { template } from "../../src/render/templates";
import { projectCompose, renderCompose } from "../../src/supabase/compose";
import { projectEnv, renderEnvFile } from "../../src/supabase/env";
import { signApiKey } from "../../src/supabase/keys";
import { kongConfig, renderKongConfig } from "../../src/supabase/kong";
import { RELEASES, type SupabaseRelease } from "../../src/model/releases";
import { containerName, networkName } from "../../src/supabase/naming";
import { PROJECT_ASSETS } from "../../src/supabase/assets";
import { docker, dockerEnv } from "./engine";

/** The host's end of the lab engine's veth; each test file publishes on its own address in this range. */
export const LAB_SUBNET = "198.51.100";

export interface ScriptRun {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A release the way a test wants it: a named one, with any image swapped. */
export function release(name: string, images: Partial<SupabaseRelease["images"]> = {}): SupabaseRelease {
  const r = RELEASES[name];
  if (!r) throw new Error(`no release ${name}`);
  return { ...r, images: { ...r.images, ...images } };
}

/**
 * One Supabase project deployed by the real worker scripts (project-config,
 * project-assets, project-deploy …) onto the lab's real Docker engine, with
 * the compose file, .env and kong.yml the program renders. Its ports are
 * published on `address` (an address of the lab's veth, standing in for the
 * worker's WireGuard address), which this process reaches directly.
 */
export class LabProject {
  readonly root = mkdtempSync(join(tmpdir(), "supafleet-lab-project-"));
  readonly ports: ProjectPorts;
  readonly postgresPassword = randomBytes(18).toString("hex");
  readonly jwtSecret = randomBytes(32).toString("hex");
  anonKey = "";
  serviceRoleKey = "";
  /** WAL archiving, as a project with backups.pitr has it; its spools are under walRoot. */
  walArchive: { archiveTimeoutSeconds: number } | undefined;

  /** Where this project's WAL spool folder goes (SUPAFLEET_WAL_ROOT for compose): <walRoot>/<name>. */
  get walRoot(): string {
    return join(this.root, "wal");
  }

  constructor(
    readonly name: string,
    /** Last octet of this project's address in LAB_SUBNET (10–250), unique per test file. */
    readonly host: number,
    slot = 1,
    /** Which services it runs; by default a full project whose Studio is on the master. */
    readonly shape: ProjectShape = { services: FULL_SERVICES, studio: "master" },
  ) {
    this.ports = projectPorts(slot);
  }

  get services(): ServiceName[] {
    return workerServices(this.shape);
  }

  get address(): string {
    return `${LAB_SUBNET}.${this.host}`;
  }

  get gateway(): string {
    return `${this.address}:${this.ports.gateway}`;
  }

  dir(...p: string[]): string {
    return join(this.root, "projects", this.name, ...p);
  }

  container(service: Parameters<typeof containerName>[1]): string {
    return containerName(this.name, service);
  }

  /** Puts the project's address on the engine's side of the veth, so its published ports can bind. */
  async start(): Promise<this> {
    const r = spawnSync("ip", ["-n", "supafleet-dk", "addr", "replace", `${this.address}/32`, "dev", "sfdk-lab"], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`cannot add ${this.address} to the lab engine: ${r.stderr}`);
    this.anonKey = await signApiKey(this.jwtSecret, "anon");
    this.serviceRoleKey = await signApiKey(this.jwtSecret, "service_role");
    return this;
  }

  /** Removes every container, volume and network of the project, and its folder. */
  stop(): void {
    const names = docker(["ps", "-aq", "--filter", `label=com.docker.compose.project=${this.name}`], { allowFail: true }).stdout.split("\n").filter(Boolean);
    if (names.length > 0) docker(["rm", "-f", "-v", ...names], { allowFail: true });
    const vols = docker(["volume", "ls", "-q", "--filter", `label=com.docker.compose.project=${this.name}`], { allowFail: true }).stdout.split("\n").filter(Boolean);
    if (vols.length > 0) docker(["volume", "rm", "-f", ...vols], { allowFail: true });
    docker(["network", "rm", networkName(this.name), `${this.name}_default`, `supafleet-${this.name}`], { allowFail: true });
    spawnSync("ip", ["-n", "supafleet-dk", "addr", "del", `${this.address}/32`, "dev", "sfdk-lab"]);
    rmSync(this.root, { recursive: true, force: true });
  }

  composeText(rel: SupabaseRelease, releaseName = "lab"): string {
    const c = projectCompose({
      project: this.name, release: rel, bindAddress: this.address, ports: this.ports, accessTokenHook: false, services: this.services,
      ...(this.walArchive !== undefined ? { walArchive: this.walArchive } : {}),
    });
    return renderCompose({ ...c, "x-supafleet": { release: releaseName, "config-sha256": "0".repeat(64) } });
  }

  envText(overrides: Record<string, string> = {}): string {
    const hex = (n: number): string => randomBytes(n).toString("hex");
    return renderEnvFile({
      ...projectEnv({
        project: this.name,
        tenantName: "Lab tenant",
        services: this.services,
        apiUrl: `https://${this.name}.lab.invalid`,
        jwtExpiry: 3600,
        smtp: { host: "smtp.lab.invalid", port: 587, user: "lab", adminEmail: "admin@lab.invalid", senderName: "Lab" },
        secrets: {
          postgresPassword: this.postgresPassword,
          jwtSecret: this.jwtSecret,
          anonKey: this.anonKey,
          serviceRoleKey: this.serviceRoleKey,
          dashboardPassword: hex(12),
          secretKeyBase: hex(32),
          vaultEncKey: hex(16),
          pgMetaCryptoKey: hex(16),
          realtimeEncKey: hex(8),
          s3AccessKeyId: hex(16),
          s3AccessKeySecret: hex(32),
          smtpPassword: hex(8),
        },
      }),
      ...overrides,
    });
  }

  kongText(anonKey = this.anonKey): string {
    return renderKongConfig(kongConfig({ anonKey, serviceRoleKey: this.serviceRoleKey, dashboardPassword: "lab-dashboard" }, { services: this.services, studioHostname: `${this.name}-studio.lab.invalid` }));
  }

  private scriptEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
    return dockerEnv({ ...process.env, SUPAFLEET_ROOT: this.root, SUPAFLEET_WAIT_TIMEOUT: "120", SUPAFLEET_PROBE_TRIES: "10", SUPAFLEET_PROBE_INTERVAL: "1", ...extra });
  }

  /** Runs a worker script as the program sends it, against the lab's engine. */
  run(script: string, stdin: string, extra: Record<string, string> = {}): ScriptRun {
    const r = spawnSync("bash", ["-c", script], { input: stdin, encoding: "utf8", env: this.scriptEnv(extra), maxBuffer: 1 << 24, timeout: 300_000 });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /**
   * run() without blocking this process: for scripts that run side by side, or a test that acts
   * while one runs. `onStderr` sees the stderr so far each time more arrives.
   */
  runAsync(script: string, stdin: string, extra: Record<string, string> = {}, onStderr?: (stderr: string) => void): Promise<ScriptRun> {
    return new Promise((resolve, reject) => {
      const child = spawn("bash", ["-c", script], { env: this.scriptEnv(extra), stdio: ["pipe", "pipe", "pipe"] });
      const out = { stdout: "", stderr: "" };
      child.stdout.setEncoding("utf8").on("data", (d: string) => (out.stdout += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => {
        out.stderr += d;
        onStderr?.(out.stderr);
      });
      const timer = setTimeout(() => child.kill("SIGKILL"), 300_000);
      child.on("error", reject);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ status: code ?? -1, ...out });
      });
      child.stdin.end(stdin);
    });
  }

  /** A worker script as the program renders it for this project, with any other values it takes. */
  script(file: string, values: Record<string, string> = {}): string {
    return renderScript(`worker/${file}`, { PROJECT: this.name, ...values });
  }

  /** The config and assets steps, as SupabaseProject runs them; `files` adds to or replaces the project's files. */
  configure(opts: { env?: string; kong?: string; files?: Record<string, string> } = {}): void {
    const c = this.run(this.script("project-config.sh"), JSON.stringify({ env: opts.env ?? this.envText(), kong: opts.kong ?? this.kongText() }));
    if (c.status !== 0) throw new Error(`project-config.sh failed: ${c.stderr}`);
    const files = {
      ...Object.fromEntries(
        PROJECT_ASSETS.map((f) => [f, template(`supabase/${f}`)]),
      ),
      ...opts.files,
    };
    const a = this.run(this.script("project-assets.sh"), JSON.stringify({ files }));
    if (a.status !== 0) throw new Error(`project-assets.sh failed: ${a.stderr}`);
  }

  deploy(rel: SupabaseRelease, extra: Record<string, string> = {}): ScriptRun {
    return this.run(this.script("project-deploy.sh", { GATEWAY: this.gateway }), this.composeText(rel), extra);
  }

  deployAsync(rel: SupabaseRelease, extra: Record<string, string> = {}): Promise<ScriptRun> {
    return this.runAsync(this.script("project-deploy.sh", { GATEWAY: this.gateway }), this.composeText(rel), extra);
  }

  /** `docker inspect` of each of the project's containers: name → { state, health, image, id }. */
  containers(): Record<string, { state: string; health: string; image: string; id: string; restarts: number; oomKilled: boolean }> {
    const ids = docker(["ps", "-aq", "--filter", `label=com.docker.compose.project=${this.name}`]).stdout.split("\n").filter(Boolean);
    if (ids.length === 0) return {};
    // JSON, not a Go template: a container that never started has no State.Health, which a template trips over.
    const all = JSON.parse(docker(["container", "inspect", ...ids]).stdout) as {
      Name: string;
      Id: string;
      RestartCount: number;
      Config: { Image: string };
      State: { Status: string; OOMKilled: boolean; Health?: { Status: string } };
    }[];
    return Object.fromEntries(
      all.map((c) => [c.Name.replace(/^\//, ""), { state: c.State.Status, health: c.State.Health?.Status ?? "none", image: c.Config.Image, id: c.Id, restarts: c.RestartCount, oomKilled: c.State.OOMKilled }]),
    );
  }

  /** A client of the project's database through its published port, as an operator on the mesh would connect. */
  async client(user = "postgres", database = "postgres"): Promise<pg.Client> {
    const c = new pg.Client({ host: this.address, port: this.ports.db, user, password: this.postgresPassword, database });
    await c.connect();
    return c;
  }

  /** GET through the project's gateway, with the anon key unless another is given. */
  async api(path: string, key = this.anonKey): Promise<Response> {
    return fetch(`http://${this.gateway}${path}`, { headers: { apikey: key, Authorization: `Bearer ${key}` } });
  }
}
