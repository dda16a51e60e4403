import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { wireguardPublicKey } from "../../src/model/wireguard";
import { masterRuleset, workerRuleset } from "../../src/render/hostFirewall";
import { hubPeerSet, hubSyncPayload } from "../../src/render/hub";
import { hubInterfaceConfig, workerConfig, type MeshShape } from "../../src/render/mesh";
import { renderNftFile } from "../../src/render/nftables";
import { template } from "../../src/render/templates";
import { renderScript } from "../../src/render/script";
import { renderWgConf } from "../../src/render/wireguardConf";
import { confirmKeyCommand, HUB_SWITCH, hubNextPayload, stagedKeyPayload } from "../../src/render/wireguardRotation";
import { eventually, Lab } from "./netns/lab";

/**
 * A worker's WireGuard key rotation as the two pulumi up steps run it: the
 * real install-files payload stages the next config, the real unit's command
 * runs the switch (systemd's part is played here), the real hub-sync moves the
 * hub, and the real confirm script checks the end. wireguard-go in namespaces.
 */
const mesh: MeshShape = { subnet: "10.100.0.0/24", prefix: 24, hub: "10.100.0.1", port: 51820 };
const UNDERLAY = { master: "192.0.2.1", w1: "192.0.2.2", w2: "192.0.2.3" } as const;
const WG = { w1: "10.100.0.2", w2: "10.100.0.3" } as const;
const SCRIPTS = join(__dirname, "netns");
const USERSPACE = { WG_QUICK_USERSPACE_IMPLEMENTATION: "wireguard-go", WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: "1" };
const SWITCH = 90_000;
const FAST_UNIT = ["SUPAFLEET_WG_CHECK_EVERY=1", "SUPAFLEET_WG_MISSES=3", "SUPAFLEET_WG_TRY_FOR=6"];

const key = (): { privateKey: string; publicKey: string } => {
  const privateKey = randomBytes(32).toString("base64");
  return { privateKey, publicKey: wireguardPublicKey(privateKey) };
};
const keys = { master: key(), masterNext: key(), w1: key(), w1next: key(), w1later: key(), w2: key() };
const spokeConf = (w: "w1" | "w2", privateKey: string, hubPublicKey = keys.master.publicKey): string =>
  renderWgConf(workerConfig(mesh, { privateKey, address: WG[w], hubPublicKey, hubIp: UNDERLAY.master }));
const w1Conf = (privateKey: string): string => spokeConf("w1", privateKey);

/** What MasterNode's hub-sync sends when w1's peer has this public key. */
function hubPayload(w1PublicKey: string): string {
  const state = hubPeerSet([], [], [
    { name: "w1", address: WG.w1, publicKey: w1PublicKey },
    { name: "w2", address: WG.w2, publicKey: keys.w2.publicKey },
  ]);
  const nft = renderNftFile(masterRuleset({ wireguardPort: mesh.port, allowWorkerToWorker: false, sets: state.firewall }));
  return hubSyncPayload(renderWgConf({ peers: state.peers }), nft);
}

const lab = new Lab();
const fakeBin = mkdtempSync(join(tmpdir(), "sf-systemctl-"));
const systemctlLog = join(fakeBin, "calls.log");
let rotator: { proc: ChildProcess; out: string[]; exit: Promise<number | null> } | undefined;

const ping = (from: string, to: string): boolean => lab.try(from, ["ping", "-c", "1", "-W", "1", to]).status === 0;
const liveKey = (host: string): string => lab.exec(host, ["wg", "show", "wg0", "public-key"]).trim();
const staged = (): boolean => lab.try("w1", ["test", "-e", "/etc/wireguard/next/wg0.conf"]).status === 0;
const hubSync = (w1PublicKey: string): string => lab.exec("master", ["bash", "-c", renderScript("host/hub-sync.sh")], { input: hubPayload(w1PublicKey) });

/** pulumi up's `<spoke>-wireguard-next`: install-files with the staged payload, systemctl faked. */
function stage(privateKey: string, host: "w1" | "w2" = "w1", conf = w1Conf(privateKey)): void {
  lab.exec(host, ["bash", "-c", renderScript("host/install-files.sh")], { input: stagedKeyPayload(conf, mesh.hub), env: { PATH: `${fakeBin}:${process.env.PATH}` } });
}

/** What systemd would do for `enable --now`: run the installed unit's ExecStart. */
function startUnit(host: "w1" | "w2" = "w1"): NonNullable<typeof rotator> {
  const unit = lab.exec(host, ["cat", "/etc/systemd/system/supafleet-wireguard-rotate.service"]);
  const execStart = unit.split("\n").find((l) => l.startsWith("ExecStart="))!.slice("ExecStart=".length);
  // The unit's timings, shortened (its defaults are 3 s, 3 misses, 15 s): the logic is the same, the suite faster.
  const proc = lab.spawn(host, ["env", ...FAST_UNIT, ...execStart.split(" ")]);
  const out: string[] = [];
  proc.stdout!.on("data", (d: Buffer) => out.push(...d.toString().split("\n").filter(Boolean)));
  proc.stderr!.on("data", (d: Buffer) => out.push(...d.toString().split("\n").filter(Boolean)));
  const exit = new Promise<number | null>((resolve) => proc.on("exit", resolve));
  return { proc, out, exit };
}

beforeAll(async () => {
  writeFileSync(join(fakeBin, "systemctl"), `#!/bin/sh\necho "$*" >> ${systemctlLog}\n`);
  // systemd-run's timer, played here: the command runs after --on-active, detached, its output in a log.
  writeFileSync(
    join(fakeBin, "systemd-run"),
    `#!/bin/sh\ndelay=0\nwhile [ $# -gt 0 ]; do case "$1" in --on-active=*) delay=\${1#--on-active=}; shift ;; --*) shift ;; *) break ;; esac; done\n( sleep "$delay"; "$@" ) >> ${fakeBin}/systemd-run.log 2>&1 < /dev/null &\n`,
  );
  for (const f of ["systemctl", "systemd-run"]) chmodSync(join(fakeBin, f), 0o755);
  await lab.up(Object.entries(UNDERLAY).map(([name, underlay]) => ({ name, underlay })));
  lab.exec("master", ["sysctl", "-q", "-p", "-"], { input: template("host/sysctl-hub.conf") });
  lab.writeFile("master", "/etc/wireguard/wg0.conf", renderWgConf(hubInterfaceConfig(mesh, keys.master.privateKey)));
  lab.exec("master", ["wg-quick", "up", "wg0"], { env: USERSPACE });
  const workerKeys = { w1: keys.w1.privateKey, w2: keys.w2.privateKey };
  for (const w of ["w1", "w2"] as const) {
    lab.writeFile(w, "/etc/nftables.d/supafleet.nft", renderNftFile(workerRuleset({ subnet: mesh.subnet })));
    lab.exec(w, ["nft", "-f", "/etc/nftables.d/supafleet.nft"]);
    lab.writeFile(w, "/etc/wireguard/wg0.conf", renderWgConf(workerConfig(mesh, { privateKey: workerKeys[w], address: WG[w], hubPublicKey: keys.master.publicKey, hubIp: UNDERLAY.master })));
    lab.exec(w, ["wg-quick", "up", "wg0"], { env: USERSPACE });
  }
  hubSync(keys.w1.publicKey);
  const listener = lab.spawn("w2", [process.execPath, join(SCRIPTS, "listen.mjs"), "5432"]);
  await new Promise((resolve) => listener.stdout!.once("data", resolve));
  await eventually(() => ping("w1", mesh.hub) && ping("w2", mesh.hub), "both workers' handshakes with the hub");
}, 60_000);

afterAll(() => {
  lab.down();
  rmSync(fakeBin, { recursive: true, force: true });
});

describe("rotating a worker's WireGuard key, with wireguard-go in namespaces", () => {
  it("step 1 stages the next key and starts the switch unit; while the hub answers, the worker stays on its key", async () => {
    stage(keys.w1next.privateKey);
    expect(readFileSync(systemctlLog, "utf8").split("\n")).toEqual(["daemon-reload", "enable --now supafleet-wireguard-rotate.service", ""]);
    expect(lab.exec("w1", ["stat", "-c", "%a", "/etc/wireguard/next/wg0.conf"]).trim()).toBe("600");
    rotator = startUnit();
    // Longer than the unit's patience with an unanswering hub (3 misses, 1 s apart, each ping waiting up to 2 s).
    await new Promise((r) => setTimeout(r, 10_000));
    expect(liveKey("w1")).toBe(keys.w1.publicKey);
    expect(staged()).toBe(true);
    expect(ping("master", WG.w1)).toBe(true);
    expect(rotator.out.join("\n")).toContain(`staged key ${keys.w1next.publicKey}`);
  }, 30_000);

  it("step 2: hub-sync gives the hub the new key; the worker switches by itself, the other worker's connection never drops, and confirm passes", async () => {
    const hold = lab.spawn("master", [process.execPath, join(SCRIPTS, "hold.mjs"), WG.w2, "5432", "12000"]);
    const held = new Promise<{ code: number | null; out: string }>((resolve) => {
      let out = "";
      hold.stdout!.on("data", (d: Buffer) => (out += d.toString()));
      hold.on("exit", (code) => resolve({ code, out }));
    });
    expect(hubSync(keys.w1next.publicKey)).toContain("hub-sync: 2 peers");
    expect(await rotator!.exit).toBe(0);
    expect(rotator!.out.join("\n")).toContain(`now on key ${keys.w1next.publicKey}`);
    expect(liveKey("w1")).toBe(keys.w1next.publicKey);
    expect(staged()).toBe(false);
    // The switch outlives a reboot: wg0.conf itself now holds the new key.
    expect(lab.exec("w1", ["cat", "/etc/wireguard/wg0.conf"])).toBe(w1Conf(keys.w1next.privateKey));
    await eventually(() => ping("master", WG.w1), "the hub reaching w1 on its new key");
    expect(lab.exec("w1", ["bash", "-c", confirmKeyCommand(keys.w1next.publicKey, keys.master.publicKey)])).toContain(`on key ${keys.w1next.publicKey}`);
    const { code, out } = await held;
    expect(out).toMatch(/sent (\d+), answered \1/);
    expect(code).toBe(0);
    expect(lab.exec("master", ["wg", "show", "wg0", "peers"]).split("\n").filter(Boolean).sort()).toEqual([keys.w1next.publicKey, keys.w2.publicKey].sort());
  }, SWITCH);

  it("confirm fails, and says why, when the worker is not on the hub's key for it", () => {
    const r = lab.try("w1", ["env", "SUPAFLEET_CONFIRM_SECONDS=1", "bash", "-c", confirmKeyCommand(keys.w1later.publicKey, keys.master.publicKey)]);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toContain(`wg0 is on key ${keys.w1next.publicKey}, not ${keys.w1later.publicKey}`);
  });

  it("a hub that stops answering without moving to the staged key: the worker tries it, goes back, and is reachable on its key again", async () => {
    stage(keys.w1later.privateKey);
    rotator = startUnit();
    await eventually(() => rotator!.out.some((l) => l.includes("staged key")), "the unit to start");
    // The hub loses w1 (as in an outage) but never learns the staged key.
    lab.exec("master", ["wg", "set", "wg0", "peer", keys.w1next.publicKey, "remove"]);
    await eventually(() => rotator!.out.some((l) => l.includes("back to the live key")), "the unit to give up on the staged key", 60_000);
    expect(rotator!.out.join("\n")).toContain("trying the staged one");
    // The hub comes back as it was: the worker is on its live key, with the next one still staged.
    hubSync(keys.w1next.publicKey);
    await eventually(() => ping("master", WG.w1), "the hub reaching w1 on its live key", 20_000);
    expect(liveKey("w1")).toBe(keys.w1next.publicKey);
    expect(staged()).toBe(true);
    expect(rotator!.proc.exitCode).toBeNull();
    rotator!.proc.kill("SIGKILL");
  }, SWITCH);

  it("the hub's own key: every spoke stages the new hub key, the master switches a few seconds after the command returns, and every spoke follows", async () => {
    lab.exec("w1", ["rm", "-rf", "/etc/wireguard/next"]);
    // Step 1 on each spoke: its own live key, the hub's next key.
    const live = { w1: keys.w1next.privateKey, w2: keys.w2.privateKey };
    const units = (["w1", "w2"] as const).map((w) => {
      stage(live[w], w, spokeConf(w, live[w], keys.masterNext.publicKey));
      return startUnit(w);
    });
    await eventually(() => units.every((u) => u.out.some((l) => l.includes("staged key"))), "both units to start");
    expect(ping("master", WG.w1) && ping("master", WG.w2)).toBe(true);

    // Step 2 on the master: stage its next interface config, then schedule the switch.
    lab.exec("master", ["bash", "-c", renderScript("host/install-files.sh")], { input: hubNextPayload(renderWgConf(hubInterfaceConfig(mesh, keys.masterNext.privateKey))), env: { PATH: `${fakeBin}:${process.env.PATH}` } });
    const scheduled = lab.exec("master", [HUB_SWITCH, "schedule"], { env: { PATH: `${fakeBin}:${process.env.PATH}` } });
    expect(scheduled).toContain(`the hub moves to key ${keys.masterNext.publicKey} in 5 s`);
    // The command returned before the switch: the session that asked for it is still on the old key.
    expect(liveKey("master")).toBe(keys.master.publicKey);

    expect(await Promise.all(units.map((u) => u.exit))).toEqual([0, 0]);
    expect(liveKey("master")).toBe(keys.masterNext.publicKey);
    expect(lab.try("master", ["test", "-e", "/etc/wireguard/next/wg0.conf"]).status).not.toBe(0);
    expect(lab.exec("master", ["cat", "/etc/wireguard/wg0.conf"])).toBe(renderWgConf(hubInterfaceConfig(mesh, keys.masterNext.privateKey)));
    for (const w of ["w1", "w2"] as const) {
      expect(lab.exec(w, ["wg", "show", "wg0", "peers"]).trim(), w).toBe(keys.masterNext.publicKey);
      await eventually(() => ping("master", WG[w]), `the hub reaching ${w} on its new key`);
      expect(lab.exec(w, ["bash", "-c", confirmKeyCommand(wireguardPublicKey(live[w]), keys.masterNext.publicKey)])).toContain("wireguard-confirm: on key");
    }
    // A spoke that did not follow is named by its confirm.
    const stale = lab.try("w2", ["env", "SUPAFLEET_CONFIRM_SECONDS=1", "bash", "-c", confirmKeyCommand(keys.w2.publicKey, keys.master.publicKey)]);
    expect(stale.status).not.toBe(0);
    expect(stale.stdout).toContain(`wg0's hub peer is ${keys.masterNext.publicKey}, not ${keys.master.publicKey}`);
  }, SWITCH);
});
