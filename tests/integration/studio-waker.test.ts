import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RELEASES } from "../../src/model/releases";
import { studioPorts, type StudioPorts } from "../../src/model/ports";
import { shellQuote } from "../../src/render/script";
import { TEMPLATES_DIR } from "../../src/render/templates";
import { listenDropInPath, STUDIO_LABEL, STUDIO_POWER, STUDIO_SERVICE_TEMPLATE, studioFleetFiles, studioWakerFiles, wakerEnvPath } from "../../src/studio/waker";
import { docker, dockerEnv, ENGINE_NETNS, requireEngine } from "../lab/engine";

/**
 * The Studio waker on the lab's real Docker engine, with the Studio stand-in under the image name
 * the releases pin. systemd is not PID 1 here, so two parts stand in for it:
 * - the socket unit: Debian's real systemd-socket-activate holds the listening socket from the
 *   rendered listen.conf (127.0.0.1:<listen>, in the engine's namespace where the container's
 *   port is published) and hands it to a harness on the first connection; the harness keeps that
 *   one socket for good, as the socket unit does, and for each activation runs a second
 *   systemd-socket-activate on it, which waits for the next connection and starts the service;
 * - the service manager: the harness runs the rendered service's own ExecStartPre (without the
 *   socket, as systemd runs it), then execs its ExecStart (the real systemd-socket-proxyd, which
 *   gets the socket as systemd would pass it), then ExecStopPost, with waker.env substituted, and
 *   then turns queued connections away (FlushPending=yes) before it listens again.
 * studio-power runs from templates/ (installed path swapped), with its paths under a temp dir.
 */
const IMAGE = RELEASES["2026.02"]!.images.studio;
const IDLE_MINUTES = 0.05; // 3 s
const work = mkdtempSync(join(tmpdir(), "supafleet-studio-waker-"));
const studioDir = join(work, "studio");
const maxFile = join(work, "max-running");
const studioEnv = {
  SUPAFLEET_STUDIO_DIR: studioDir,
  SUPAFLEET_STUDIO_MAX_FILE: maxFile,
  SUPAFLEET_STUDIO_LOCK: join(work, "lock"),
  SUPAFLEET_STUDIO_WAKE_TIMEOUT: "60",
};
const env = { ...dockerEnv(), ...studioEnv };
// systemd-socket-activate gives its program a clean environment (PATH, HOME …), as systemd gives a
// service: what studio-power needs (the lab's engine, the temp paths) is handed on by name.
const PASS_ENV = ["DOCKER_HOST", "DOCKER_CONFIG", ...Object.keys(studioEnv)].flatMap((name) => ["-E", name]);
const POWER = join(TEMPLATES_DIR, "master/studio-power.sh");

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** A unit's `Key=value`: the one line that sets it to something (an empty value only resets a list). */
function unitValue(text: string, key: string): string {
  const found = text.split("\n").filter((l) => l.startsWith(`${key}=`) && l !== `${key}=`);
  if (found.length !== 1) throw new Error(`the unit sets ${key} ${found.length} times`);
  return found[0]!.slice(key.length + 1);
}

/** A command line as systemd runs it: %i and ${NAME} from waker.env substituted, split into words. */
function commandOf(line: string, project: string, vars: Record<string, string>): string[] {
  const text = line.replaceAll("%i", project).replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => {
    if (vars[name] === undefined) throw new Error(`waker.env sets no ${name}`);
    return vars[name];
  });
  // Plain words only, so splitting on spaces is what systemd's parser does too.
  if (/["'\\$%]|^[-@+!:]/.test(text)) throw new Error(`not a plain command line: ${text}`);
  const argv = text.split(" ");
  return argv[0] === STUDIO_POWER ? ["bash", POWER, ...argv.slice(1)] : argv;
}

class Waker {
  readonly container: string;
  readonly ports: StudioPorts;
  readonly log: string;
  /** The socket's address, from the rendered listen.conf. */
  listen = "";
  private proc?: ChildProcess;

  constructor(
    readonly project: string,
    slot: number,
  ) {
    this.container = `${project}-studio`;
    this.ports = studioPorts(slot);
    this.log = join(work, `${project}.log`);
  }

  /** The files the program installs, written where the test's studio-power looks, and the Studio's compose file. */
  install(): void {
    const files = { ...studioWakerFiles({ project: this.project, ports: this.ports, idleMinutes: IDLE_MINUTES }), ...studioFleetFiles({ maxRunning: 1 }) };
    const dir = join(studioDir, this.project);
    mkdirSync(dir, { recursive: true });
    const compose = {
      name: this.container,
      services: {
        studio: {
          image: IMAGE,
          container_name: this.container,
          restart: "no",
          labels: { [STUDIO_LABEL]: this.project },
          ports: [`127.0.0.1:${this.ports.container}:3000`],
          healthcheck: { test: ["CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:3000/api/platform/profile"], interval: "1s", timeout: "3s", retries: 30 },
        },
      },
    };
    writeFileSync(join(dir, "compose.yaml"), stringify(compose));
    writeFileSync(join(dir, ".env"), "# the stand-in needs no settings\n");
    this.listen = unitValue(files[listenDropInPath(this.project)]!.content, "ListenStream");
    const wakerEnv = files[wakerEnvPath(this.project)]!.content;
    writeFileSync(join(dir, "waker.env"), wakerEnv);
    const vars = Object.fromEntries(wakerEnv.split("\n").filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    const unit = files[STUDIO_SERVICE_TEMPLATE]!.content;
    const argv = (key: string) => commandOf(unitValue(unit, key), this.project, vars).map(shellQuote).join(" ");
    writeFileSync(
      join(work, `${this.project}-harness.sh`),
      `#!/usr/bin/env bash
# Stands in for systemd: see the test's opening comment.
set -uo pipefail
PRE=(${argv("ExecStartPre")})
START=(${argv("ExecStart")})
POST=(${argv("ExecStopPost")})
# Outside the service's own start, no command gets the socket, as under systemd.
plain() { env -u LISTEN_FDS -u LISTEN_PID -u LISTEN_FDNAMES "$@" 3>&-; }
if [ "$1" = service ]; then
  plain "\${PRE[@]}" || exit
  exec "\${START[@]}"
fi
while :; do
  ( export LISTEN_FDS=1 LISTEN_PID=$BASHPID; exec systemd-socket-activate ${PASS_ENV.join(" ")} -- bash "$0" service )
  echo "harness: service exited ($?)"
  plain "\${POST[@]}"
  # FlushPending=yes: connections still queued are accepted and closed, as systemd's flush_ports does.
  python3 -c 'import socket
s = socket.socket(fileno=3)
s.setblocking(False)
try:
    while True: s.accept()[0].close(); print("harness: turned a queued connection away", flush=True)
except BlockingIOError: pass'
  echo "harness: listening again"
done
`,
    );
  }

  /** The socket unit started: listening, nothing else running. */
  async start(): Promise<void> {
    const out = openSync(this.log, "w");
    this.proc = spawn("ip", ["netns", "exec", ENGINE_NETNS, "systemd-socket-activate", "-l", this.listen, ...PASS_ENV, "--", "bash", join(work, `${this.project}-harness.sh`), "loop"], {
      detached: true,
      stdio: ["ignore", out, out],
      env,
    });
    closeSync(out);
    for (let i = 0; i < 50 && !this.logText().includes("Listening on"); i++) await sleep(100);
    expect(this.logText()).toContain(`Listening on ${this.listen} as 3.`);
  }

  stop(): void {
    if (this.proc?.pid !== undefined) {
      try {
        process.kill(-this.proc.pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
    docker(["compose", "-p", this.container, "-f", join(studioDir, this.project, "compose.yaml"), "down", "--remove-orphans"], { allowFail: true });
  }

  get pid(): number {
    return this.proc!.pid!;
  }

  logText(): string {
    try {
      return readFileSync(this.log, "utf8");
    } catch {
      return "";
    }
  }

  /** running, exited, or absent. */
  state(): string {
    const r = docker(["inspect", "-f", "{{.State.Status}}", this.container], { allowFail: true });
    return r.status === 0 ? r.stdout.trim() : "absent";
  }

  async waitFor(state: string, seconds: number): Promise<void> {
    for (let i = 0; i < seconds * 4 && this.state() !== state; i++) await sleep(250);
    expect(this.state()).toBe(state);
  }

  /** GET through the listen port from inside the engine's namespace (where cloudflared's origin would be). */
  get(path = "/api/platform/profile"): Promise<{ code: number; body: string; error: string }> {
    return new Promise((done) => {
      execFile(
        "ip",
        ["netns", "exec", ENGINE_NETNS, "curl", "-sS", "--max-time", "90", "-w", "\n%{http_code}", `http://${this.listen}${path}`],
        { encoding: "utf8" },
        (_err, stdout, stderr) => {
          const lines = stdout.split("\n");
          done({ code: Number(lines.pop()), body: lines.join("\n"), error: stderr });
        },
      );
    });
  }
}

const a = new Waker("wakea", 990);
const b = new Waker("wakeb", 991);
/** An open connection to a's Studio: someone using it, which keeps it awake. */
let holder: ChildProcess | undefined;

beforeAll(async () => {
  requireEngine();
  for (const w of [a, b]) w.install();
  writeFileSync(maxFile, "1\n");
  for (const w of [a, b]) await w.start();
});

afterAll(() => {
  if (holder?.pid !== undefined) process.kill(-holder.pid, "SIGTERM");
  for (const w of [a, b]) w.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("a Studio behind its socket, woken on demand", () => {
  it("runs nothing before the first request: no container, and the socket's holder has no child", () => {
    expect(a.state()).toBe("absent");
    expect(spawnSync("ps", ["--ppid", String(a.pid), "-o", "pid=,args="], { encoding: "utf8" }).stdout).toBe("");
    expect(readFileSync(`/proc/${a.pid}/cmdline`, "utf8").split("\0")[0]).toBe("systemd-socket-activate");
  });

  it("wakes the container on the first request, which gets Studio's answer", async () => {
    const r = await a.get();
    expect(r.error).toBe("");
    expect(r.code).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ service: "studio", healthy: true });
    expect(a.state()).toBe("running");
    expect(a.logText()).toContain("studio-power(wakea): awake");
  });

  it("stays awake while requests keep coming, closer together than the idle time", async () => {
    for (let i = 0; i < 5; i++) {
      await sleep(1000);
      expect((await a.get()).code).toBe(200);
    }
    expect(a.state()).toBe("running");
    expect(a.logText()).not.toContain("harness: service exited");
  });

  it("is stopped after the quiet period (3 s) with no traffic", async () => {
    await sleep(1500);
    expect(a.state()).toBe("running");
    await a.waitFor("exited", 20);
    // Until the socket listens again, a request is turned away (FlushPending): docs/studio.md.
    for (let i = 0; i < 40 && !a.logText().includes("harness: listening again"); i++) await sleep(250);
    expect(a.logText()).toContain("harness: service exited (0)");
    expect(a.logText()).toContain("studio-power(wakea): asleep");
    expect(a.logText()).toContain("harness: listening again");
  });

  it("wakes again on a later request", async () => {
    const r = await a.get();
    expect(r.code).toBe(200);
    expect(a.state()).toBe("running");
    // Someone keeps it open from here, so it stays awake for the next test.
    holder = spawn("ip", ["netns", "exec", ENGINE_NETNS, "bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/${a.ports.listen}; exec sleep 120`], { detached: true, stdio: "ignore" });
  });

  it("refuses another project's wake while max-running (1) Studios run, naming the limit and the one running, and that one keeps running", async () => {
    await sleep(500);
    const r = await b.get();
    expect(r.code).not.toBe(200);
    expect(r.error).toMatch(/reset|empty reply/i);
    const refusal = `studio-power(wakeb): refused: the limit of 1 running Studios (${maxFile}) is reached by wakea`;
    expect(b.logText()).toContain(refusal);
    // One activation for the one request: the queued connection was turned away, not left to trigger again.
    // The harness says so once it has accepted and closed it, which may be a moment after the refusal.
    for (let i = 0; i < 40 && !b.logText().includes("harness: turned a queued connection away"); i++) await sleep(250);
    expect(b.logText().match(/harness: service exited/g)).toHaveLength(1);
    expect(b.logText()).toContain("harness: turned a queued connection away");
    expect(b.state()).toBe("absent");
    expect(a.state()).toBe("running");
    // The same refusal by hand, as an operator would meet it.
    const byHand = await new Promise<{ code: number | null; stderr: string }>((done) =>
      execFile("bash", [POWER, "wake", "wakeb"], { env, encoding: "utf8" }, (err, _out, stderr) => done({ code: err ? (err.code as number) : 0, stderr })),
    );
    expect(byHand.code).toBe(1);
    expect(byHand.stderr.trim()).toBe(refusal);
  });

  it("after a refusal the socket still wakes its Studio, once a place is free", async () => {
    if (holder?.pid !== undefined) process.kill(-holder.pid, "SIGTERM");
    holder = undefined;
    await a.waitFor("exited", 20);
    const r = await b.get();
    expect(r.code, `${r.error}\n${b.logText()}`).toBe(200);
    expect(b.state()).toBe("running");
    expect(a.state()).toBe("exited");
  });
});
