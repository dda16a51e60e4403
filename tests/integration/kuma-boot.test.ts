import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { kumaCompose } from "../../src/monitoring/kumaCompose";
import { template } from "../../src/render/templates";
import { ADDONS, KumaClient, kumaWorkdir } from "../helpers/kuma";
import { ROOT } from "../helpers/stacks";

/**
 * kuma-install.sh, run for real against a stand-in docker that starts the real
 * Uptime Kuma: in a network namespace of its own for `--network none`, on the
 * host's loopback for `compose up`. Meanwhile a prober on the host asks Kuma,
 * every tenth of a second, whether it still needs setting up, at the port
 * Compose publishes and at the port the setup container uses inside.
 */
const PORT = 23903;
const state = mkdtempSync(join(tmpdir(), "supafleet-kuma-boot-"));
const kumaDir = join(state, "kuma");
const ADMIN = { username: "supafleet", password: "Adm1nPassw0rdForTests" };

afterAll(() => {
  // Every Kuma this test started has its data under the state directory.
  spawnSync("pkill", ["-9", "-f", `--data-dir=${kumaDir}/data`]);
  for (const f of existsSync(state) ? readdirSync(state) : []) {
    if (f.endsWith(".pid")) spawnSync("kill", ["-9", readFileSync(join(state, f), "utf8").trim()]);
    if (f.endsWith(".ns")) spawnSync("ip", ["netns", "del", readFileSync(join(state, f), "utf8").trim()]);
  }
  rmSync(state, { recursive: true, force: true });
});

const tcpOpen = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });

/** Asks Kuma on the host whether it needs setting up; undefined when nothing answers. */
function needSetup(port: number): Promise<boolean | undefined> {
  const { io } = createRequire(join(ADDONS, "uptime-kuma/package.json"))("socket.io-client") as { io: (url: string, o: object) => { emit: (e: string, cb: (v: boolean) => void) => void; once: (e: string, f: () => void) => void; close: () => void } };
  return new Promise((resolve) => {
    const socket = io(`http://127.0.0.1:${port}`, { transports: ["websocket"], reconnection: false, timeout: 1000 });
    const done = (v: boolean | undefined): void => {
      socket.close();
      resolve(v);
    };
    socket.once("connect_error", () => done(undefined));
    socket.once("connect", () => socket.emit("needSetup", (v) => done(v)));
    setTimeout(() => done(undefined), 3000);
  });
}

describe("kuma-install.sh: the boot order", () => {
  it("no listener ever accepts a setup request: the admin account exists before Kuma is reachable", async () => {
    const payload = JSON.stringify({ image: "louislam/uptime-kuma:test", compose: kumaCompose("127.0.0.1"), reconcile: template("master/kuma-reconcile.cjs"), admin: ADMIN });
    const install = spawn("bash", [join(ROOT, "templates/master/kuma-install.sh")], {
      env: { ...process.env, PATH: `${join(__dirname, "fakes/kuma")}:${process.env.PATH}`, KUMA_DIR: kumaDir, FAKE_DOCKER_STATE: state, FAKE_KUMA_WORKDIR: kumaWorkdir(), FAKE_ADDONS: ADDONS, FAKE_KUMA_PORT: String(PORT) },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    install.stdout.on("data", (d: Buffer) => (out += d.toString()));
    install.stderr.on("data", (d: Buffer) => (out += d.toString()));
    install.stdin.end(payload);
    const exited = new Promise<number | null>((resolve) => install.on("exit", resolve));

    const answers: { port: number; needSetup: boolean; adminExisted: boolean }[] = [];
    let code: number | null | undefined;
    let probes = 0;
    void exited.then((c) => (code = c));
    while (code === undefined) {
      probes += 1;
      for (const port of [PORT, 3001]) {
        if (!(await tcpOpen(port))) continue;
        const adminExisted = existsSync(join(kumaDir, "data/.supafleet-admin"));
        const v = await needSetup(port);
        if (v !== undefined) answers.push({ port, needSetup: v, adminExisted });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(code, out).toBe(0);
    expect(out).toContain("kuma-install: admin account created before Kuma was reachable");

    // The setup container really ran, and in a namespace with no way in.
    const calls = readFileSync(join(state, "calls.log"), "utf8");
    expect(calls).toMatch(/^run -d --name supafleet-kuma-setup --network none /m);
    expect(calls.indexOf("run -d --name supafleet-kuma-setup")).toBeLessThan(calls.indexOf("compose -p supafleet-kuma"));
    // Nothing on the host answered before the admin account existed, and nothing ever asked for setup.
    expect(probes).toBeGreaterThan(10);
    expect(answers.some((a) => a.port === 3001)).toBe(false);
    expect(answers.filter((a) => !a.adminExisted || a.needSetup !== false)).toEqual([]);
    // Kuma was up and answering by the time the install returned, and the account works.
    const final = await needSetup(PORT);
    expect(final).toBe(false);
    const client = await KumaClient.login(`http://127.0.0.1:${PORT}`, ADMIN.username, ADMIN.password);
    client.close();
  }, 180_000);

  it("run again, it keeps the account and does not start a setup container", () => {
    const payload = JSON.stringify({ image: "louislam/uptime-kuma:test", compose: kumaCompose("127.0.0.1"), reconcile: template("master/kuma-reconcile.cjs"), admin: ADMIN });
    spawnSync("kill", ["-9", readFileSync(join(state, "compose.pid"), "utf8").trim()]);
    const before = readFileSync(join(state, "calls.log"), "utf8");
    const r = spawnSync("bash", [join(ROOT, "templates/master/kuma-install.sh")], {
      input: payload,
      encoding: "utf8",
      env: { ...process.env, PATH: `${join(__dirname, "fakes/kuma")}:${process.env.PATH}`, KUMA_DIR: kumaDir, FAKE_DOCKER_STATE: state, FAKE_KUMA_WORKDIR: kumaWorkdir(), FAKE_ADDONS: ADDONS, FAKE_KUMA_PORT: String(PORT) },
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const calls = readFileSync(join(state, "calls.log"), "utf8").slice(before.length);
    expect(calls).not.toContain("supafleet-kuma-setup");
    expect(calls).toContain("compose -p supafleet-kuma");
  }, 150_000);
});
