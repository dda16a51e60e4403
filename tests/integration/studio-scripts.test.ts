import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RELEASES } from "../../src/model/releases";
import { studioPorts, type StudioPorts } from "../../src/model/ports";
import { renderScript } from "../../src/render/script";
import { TEMPLATES_DIR } from "../../src/render/templates";
import { masterStudioCompose, masterStudioEnv, renderMasterStudioCompose, studioComposeName, type MasterStudioSecrets } from "../../src/studio/compose";
import { listenDropInPath, studioSocketUnit, studioWakerFiles, SYSTEMD_DIR } from "../../src/studio/waker";
import { renderEnvFile } from "../../src/supabase/env";
import { docker, dockerEnv, requireEngine } from "../lab/engine";

/**
 * studio-refresh and studio-remove, the two scripts the program runs on the master when a
 * project's Studio files change or the Studio leaves it (components/StudioSet.ts), rendered as
 * the program renders them and run on the lab's real Docker engine against the program's own
 * compose.yaml and .env (masterStudioCompose, masterStudioEnv), with the Studio stand-in under
 * the image name the release pins. A Studio is woken and put to sleep by the real studio-power.
 *
 * systemd is not PID 1 here, so `systemctl` is the one stand-in: a small script first on PATH
 * that records its arguments (what the scripts ask of systemd is what the test checks) and answers
 * `systemctl show -P Listen <unit>` from a file the test writes, in systemd's own format
 * (`127.0.0.1:<port> (Stream)`). Everything else is real: bash, Docker, Compose, the files.
 * The scripts run with SUPAFLEET_STUDIO_DIR under a temp dir and, since studio-remove deletes the
 * socket's drop-in under /etc/systemd/system itself, in a private mount namespace where a temp dir
 * is bound over /etc/systemd/system: the host's own is never touched, and the test sees what the
 * script left there.
 */
const RELEASE = RELEASES["2026.02"]!;
const IMAGE = RELEASE.images.studio;
const work = mkdtempSync(join(tmpdir(), "supafleet-studio-scripts-"));
const studioDir = join(work, "studio");
const systemdDir = join(work, "systemd");
const bin = join(work, "bin");
const systemctlLog = join(work, "systemctl.log");
const listenDir = join(work, "listen");
const baseEnv = dockerEnv();
const env: NodeJS.ProcessEnv = {
  ...baseEnv,
  PATH: `${bin}:${baseEnv.PATH}`,
  SUPAFLEET_STUDIO_DIR: studioDir,
  SUPAFLEET_STUDIO_MAX_FILE: join(work, "max-running"),
  SUPAFLEET_STUDIO_LOCK: join(work, "lock"),
  SUPAFLEET_STUDIO_WAKE_TIMEOUT: "60",
  SUPAFLEET_TEST_SYSTEMCTL_LOG: systemctlLog,
  SUPAFLEET_TEST_LISTEN_DIR: listenDir,
};
const POWER = join(TEMPLATES_DIR, "master/studio-power.sh");

const SYSTEMCTL = `#!/usr/bin/env bash
# The one stand-in for systemd (not PID 1 here): see the test's opening comment.
printf '%s\\n' "$*" >> "$SUPAFLEET_TEST_SYSTEMCTL_LOG"
if [ "$1" = show ] && [ "$2" = -P ] && [ "$3" = Listen ]; then
  cat "$SUPAFLEET_TEST_LISTEN_DIR/$4" 2>/dev/null || true
fi
exit 0
`;

const secrets = (serviceRoleKey: string): MasterStudioSecrets => ({
  postgresPassword: "pg-pass-1",
  anonKey: "anon-key-1",
  serviceRoleKey,
  jwtSecret: "jwt-secret-with-at-least-32-characters",
  pgMetaCryptoKey: "crypto-key-1",
});

class Studio {
  readonly ports: StudioPorts;
  readonly container: string;
  readonly dir: string;
  readonly volume: string;
  readonly listen: string;

  constructor(
    readonly project: string,
    slot: number,
  ) {
    this.ports = studioPorts(slot);
    this.container = studioComposeName(project);
    this.dir = join(studioDir, project);
    this.volume = `${this.container}-snippets`;
    this.listen = `127.0.0.1:${this.ports.listen}`;
  }

  /** What install-files puts on the master: compose.yaml, .env, and the socket's drop-in (here under the bound temp dir). */
  install(serviceRoleKey: string): void {
    mkdirSync(this.dir, { recursive: true });
    // The gateway can be anywhere: the stand-in never calls it.
    const compose = masterStudioCompose({ project: this.project, release: RELEASE, ports: this.ports, gateway: "192.0.2.10:20010" });
    writeFileSync(join(this.dir, "compose.yaml"), renderMasterStudioCompose(compose));
    this.writeEnv(serviceRoleKey);
    const dropIn = listenDropInPath(this.project);
    const files = studioWakerFiles({ project: this.project, ports: this.ports, idleMinutes: 5 });
    mkdirSync(join(systemdDir, `${studioSocketUnit(this.project)}.d`), { recursive: true });
    writeFileSync(join(systemdDir, dropIn.slice(SYSTEMD_DIR.length + 1)), files[dropIn]!.content);
    this.socketListens(this.listen);
  }

  writeEnv(serviceRoleKey: string): void {
    const e = masterStudioEnv({ tenantName: "Acme", project: this.project, apiUrl: `https://${this.project}.example.test`, secrets: secrets(serviceRoleKey) });
    writeFileSync(join(this.dir, ".env"), renderEnvFile(e), { mode: 0o600 });
  }

  /** What `systemctl show -P Listen` answers for this project's socket. */
  socketListens(address: string): void {
    writeFileSync(join(listenDir, studioSocketUnit(this.project)), `${address} (Stream)\n`);
  }

  refresh(): Run {
    return runScript(renderScript("master/studio-refresh.sh", { PROJECT: this.project, LISTEN: this.listen }));
  }

  remove(): Run {
    return runScript(renderScript("master/studio-remove.sh", { PROJECT: this.project }));
  }

  /** studio-power wake|sleep, as the socket's service runs it. */
  power(action: "wake" | "sleep"): Promise<void> {
    return new Promise((done, fail) => {
      const p = spawn("bash", [POWER, action, this.project], { env, stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      p.on("close", (code) => (code === 0 ? done() : fail(new Error(`studio-power ${action} ${this.project} exited ${code}: ${stderr}`))));
    });
  }

  inspect(format: string): string {
    const r = docker(["inspect", "-f", format, this.container], { allowFail: true });
    return r.status === 0 ? r.stdout.trim() : "absent";
  }

  id(): string {
    return this.inspect("{{.Id}}");
  }

  state(): string {
    return this.inspect("{{.State.Status}}");
  }

  health(): string {
    return this.inspect("{{.State.Health.Status}}");
  }

  environment(): string[] {
    return JSON.parse(this.inspect("{{json .Config.Env}}")) as string[];
  }
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The systemctl calls it made, one a line. */
  systemctl: string[];
}

/** A rendered script under bash, with the stand-in first on PATH, in a mount namespace where /etc/systemd/system is the temp dir. */
function runScript(script: string): Run {
  writeFileSync(systemctlLog, "");
  const r = spawnSync(
    "unshare",
    ["--mount", "--propagation", "private", "bash", "-c", 'mount --bind "$1" /etc/systemd/system && exec bash -c "$2"', "bind", systemdDir, script],
    { env, encoding: "utf8", timeout: 200_000 },
  );
  const systemctl = readFileSync(systemctlLog, "utf8").split("\n").filter(Boolean);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, systemctl };
}

const a = new Studio("scripta", 996);
const b = new Studio("scriptb", 997);
const never = new Studio("scriptnone", 998);

function cleanUp(): void {
  for (const s of [a, b, never]) {
    docker(["rm", "-f", s.container], { allowFail: true });
    docker(["volume", "rm", "-f", s.volume], { allowFail: true });
    docker(["network", "rm", s.container], { allowFail: true });
  }
}

beforeAll(async () => {
  requireEngine();
  cleanUp();
  for (const d of [studioDir, systemdDir, bin, listenDir]) mkdirSync(d, { recursive: true });
  writeFileSync(join(bin, "systemctl"), SYSTEMCTL, { mode: 0o755 });
  writeFileSync(env.SUPAFLEET_STUDIO_MAX_FILE!, "5\n");
  a.install("service-key-1");
  b.install("service-key-b");
  await Promise.all([a.power("wake"), b.power("wake")]);
});

afterAll(() => {
  cleanUp();
  rmSync(work, { recursive: true, force: true });
});

describe("studio-refresh: new settings reach an awake Studio now, a sleeping one at its next wake", () => {
  it("recreates an awake Studio whose .env changed: a new container, healthy, holding the new value", () => {
    const before = a.id();
    const bBefore = b.id();
    expect(a.state()).toBe("running");
    expect(a.environment()).toContain("SUPABASE_SERVICE_KEY=service-key-1");
    a.writeEnv("service-key-2");
    const r = a.refresh();
    expect(r.stderr).not.toMatch(/error|cannot/i);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("studio-refresh(scripta): recreated with the new settings");
    expect(a.id()).not.toBe(before);
    expect(a.state()).toBe("running");
    expect(a.health()).toBe("healthy");
    expect(a.environment()).toContain("SUPABASE_SERVICE_KEY=service-key-2");
    // Its socket listens on LISTEN already: asked, not restarted.
    expect(r.systemctl).toEqual([`show -P Listen ${studioSocketUnit("scripta")}`]);
    // Another project's Studio is not touched.
    expect(b.id()).toBe(bBefore);
    expect(b.state()).toBe("running");
  });

  it("leaves a sleeping Studio stopped and says the settings apply when it wakes, which they do", async () => {
    await a.power("sleep");
    const before = a.id();
    expect(a.state()).toBe("exited");
    a.writeEnv("service-key-3");
    const r = a.refresh();
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("studio-refresh(scripta): asleep; the new settings apply when it wakes");
    expect(a.state()).toBe("exited");
    expect(a.id()).toBe(before);
    expect(a.environment()).toContain("SUPABASE_SERVICE_KEY=service-key-2");
    // The next wake (studio-power, as the socket's service runs it) starts it with them.
    await a.power("wake");
    expect(a.state()).toBe("running");
    expect(a.health()).toBe("healthy");
    expect(a.environment()).toContain("SUPABASE_SERVICE_KEY=service-key-3");
  });

  it("restarts the socket when it listens elsewhere (its slot moved), and only then", () => {
    const unit = studioSocketUnit("scripta");
    const id = a.id();
    a.socketListens(`127.0.0.1:${a.ports.listen + 2}`);
    let r = a.refresh();
    expect(r.code).toBe(0);
    expect(r.systemctl).toEqual([`show -P Listen ${unit}`, `restart ${unit}`]);
    expect(r.stderr).toContain(`studio-refresh(scripta): ${unit} now listens on ${a.listen}`);
    // A socket that does not listen at all (not loaded) is restarted too.
    writeFileSync(join(listenDir, unit), "");
    r = a.refresh();
    expect(r.code).toBe(0);
    expect(r.systemctl).toEqual([`show -P Listen ${unit}`, `restart ${unit}`]);
    // Back on LISTEN: asked, not restarted; and nothing changed since, so the awake Studio is left as it is.
    a.socketListens(a.listen);
    r = a.refresh();
    expect(r.code).toBe(0);
    expect(r.systemctl).toEqual([`show -P Listen ${unit}`]);
    expect(r.stderr).not.toContain("now listens");
    expect(a.id()).toBe(id);
  });

  it("refuses, naming the file, for a project whose Studio is not installed, and asks nothing of systemd", () => {
    const r = never.refresh();
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim()).toBe(`studio-refresh(scriptnone): no Studio is installed: cannot read ${never.dir}/compose.yaml`);
    expect(r.systemctl).toEqual([]);
  });
});

describe("studio-remove: the socket, the container and the files go; the snippets stay", () => {
  it("takes an awake Studio off the master and keeps its snippets volume, leaving another project's Studio running", () => {
    const bId = b.id();
    // A saved snippet, written where Studio keeps them.
    docker(["exec", "-u", "0", a.container, "sh", "-c", "echo 'select 42;' > /app/snippets/kept.sql"]);
    expect(existsSync(join(systemdDir, `${studioSocketUnit("scripta")}.d`, "listen.conf"))).toBe(true);
    const r = a.remove();
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("studio-remove(scripta): removed; its snippets volume is kept");
    // The socket first, so no request wakes it again; the reload last, once its drop-in is gone.
    expect(r.systemctl).toEqual(["disable --now supafleet-studio@scripta.socket", "stop supafleet-studio@scripta.service", "daemon-reload"]);
    expect(a.state()).toBe("absent");
    expect(docker(["network", "inspect", a.container], { allowFail: true }).status).not.toBe(0);
    expect(existsSync(a.dir)).toBe(false);
    expect(existsSync(join(systemdDir, `${studioSocketUnit("scripta")}.d`))).toBe(false);
    // The snippets volume is still there, with what was saved in it.
    const snippet = docker(["run", "--rm", "--network", "none", "-v", `${a.volume}:/snippets:ro`, "--entrypoint", "cat", IMAGE, "/snippets/kept.sql"]);
    expect(snippet.stdout).toBe("select 42;\n");
    // The other project's Studio, its files and its socket's drop-in are untouched.
    expect(b.id()).toBe(bId);
    expect(b.state()).toBe("running");
    expect(b.health()).toBe("healthy");
    expect(existsSync(join(b.dir, "compose.yaml"))).toBe(true);
    expect(existsSync(join(b.dir, ".env"))).toBe(true);
    expect(existsSync(join(systemdDir, `${studioSocketUnit("scriptb")}.d`, "listen.conf"))).toBe(true);
  });

  it("succeeds quietly for a project never installed (an idempotent delete), touching nothing else", () => {
    const bId = b.id();
    const r = never.remove();
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("studio-remove(scriptnone): removed; its snippets volume is kept");
    expect(r.systemctl).toEqual(["disable --now supafleet-studio@scriptnone.socket", "stop supafleet-studio@scriptnone.service", "daemon-reload"]);
    expect(b.id()).toBe(bId);
    expect(b.state()).toBe("running");
    // And again on the one just removed: the same.
    const again = a.remove();
    expect(again.code).toBe(0);
    expect(again.stderr).toBe("");
  });
});
