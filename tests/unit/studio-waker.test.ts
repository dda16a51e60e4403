import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { studioPorts } from "../../src/model/ports";
import { template } from "../../src/render/templates";
import { TOOLS_DIR } from "../../src/backup/tools";
import {
  listenDropInPath,
  renderIni,
  STUDIO_LABEL,
  STUDIO_MAX_RUNNING_FILE,
  STUDIO_POWER,
  STUDIO_SERVICE_TEMPLATE,
  STUDIO_SOCKET_TEMPLATE,
  STUDIO_DIR,
  studioFleetFiles,
  studioWakerFiles,
  wakerEnvPath,
} from "../../src/studio/waker";

/** A unit file's `Key=value` lines, in order, with their section. */
function entries(text: string): { section: string; key: string; value: string }[] {
  let section = "";
  const out: { section: string; key: string; value: string }[] = [];
  for (const line of text.split("\n")) {
    const s = /^\[(.+)\]$/.exec(line);
    if (s) section = s[1]!;
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (kv) out.push({ section, key: kv[1]!, value: kv[2]! });
  }
  return out;
}
const values = (text: string, section: string, key: string): string[] => entries(text).filter((e) => e.section === section && e.key === key).map((e) => e.value);

const acme = studioWakerFiles({ project: "acme", ports: studioPorts(3), idleMinutes: 30 });
const fleet = studioFleetFiles({ maxRunning: 2 });
const socket = fleet[STUDIO_SOCKET_TEMPLATE]!.content;
const service = fleet[STUDIO_SERVICE_TEMPLATE]!.content;

describe("a project's Studio waker files", () => {
  it("are the socket's listen drop-in and waker.env, at the project's paths", () => {
    expect(Object.keys(acme).sort()).toEqual(["/etc/systemd/system/supafleet-studio@acme.socket.d/listen.conf", "/opt/supafleet/studio/acme/waker.env"]);
    expect(Object.values(acme).map((f) => f.mode)).toEqual(["0644", "0644"]);
  });

  it("listen on 127.0.0.1 only, on the port of the project's slot, and on nothing the template might add", () => {
    const listen = values(acme[listenDropInPath("acme")]!.content, "Socket", "ListenStream");
    expect(listen).toEqual(["", "127.0.0.1:30006"]);
    expect(studioPorts(3).listen).toBe(30006);
    // The template itself binds nothing, so the drop-in is the only address there is.
    expect(entries(socket).filter((e) => e.key.startsWith("Listen") || e.key === "BindToDevice")).toEqual([]);
  });

  it("proxy to the container's loopback port and stop it after the idle time", () => {
    expect(acme[wakerEnvPath("acme")]!.content).toBe(
      "# supafleet: the Studio waker of acme (supafleet-studio@acme.service).\nSTUDIO_UPSTREAM=127.0.0.1:30007\nSTUDIO_IDLE=1800s\n",
    );
    const short = studioWakerFiles({ project: "beta", ports: studioPorts(7), idleMinutes: 0.05 })[wakerEnvPath("beta")]!.content;
    expect(short).toContain("\nSTUDIO_UPSTREAM=127.0.0.1:30015\nSTUDIO_IDLE=3s\n");
  });

  it("differ between projects by slot, never by position", () => {
    const a = studioWakerFiles({ project: "a", ports: studioPorts(1), idleMinutes: 30 });
    const b = studioWakerFiles({ project: "b", ports: studioPorts(2), idleMinutes: 30 });
    expect(a[listenDropInPath("a")]!.content).toContain("ListenStream=127.0.0.1:30002\n");
    expect(b[listenDropInPath("b")]!.content).toContain("ListenStream=127.0.0.1:30004\n");
    expect(b[wakerEnvPath("b")]!.content).toContain("STUDIO_UPSTREAM=127.0.0.1:30005\n");
  });

  it("refuse what would make a bad unit: a name that is not a project's, an idle time below a second or in fractions of one, equal ports", () => {
    const ok = { project: "acme", ports: studioPorts(3), idleMinutes: 30 };
    expect(() => studioWakerFiles({ ...ok, project: "../etc" })).toThrow(/not a project name/);
    for (const idleMinutes of [0, -1, 0.001, 0.0125, Number.NaN]) expect(() => studioWakerFiles({ ...ok, idleMinutes }), String(idleMinutes)).toThrow(/whole seconds/);
    expect(() => studioWakerFiles({ ...ok, ports: { listen: 30006, container: 30006 } })).toThrow(/must differ/);
    expect(() => studioWakerFiles({ ...ok, ports: { listen: 70000, container: 30007 } })).toThrow(/65535/);
    expect(() => renderIni("x", [{ name: "Socket", entries: [["ListenStream", "127.0.0.1:1\nListenStream=0.0.0.0:1"]] }])).toThrow(/one line/);
  });
});

describe("the fleet's Studio files", () => {
  it("are the two template units, studio-power with its prelude, and the limit of running Studios", () => {
    expect(Object.keys(fleet).sort()).toEqual(
      [`${TOOLS_DIR}/prelude.sh`, STUDIO_POWER, STUDIO_SOCKET_TEMPLATE, STUDIO_SERVICE_TEMPLATE, STUDIO_MAX_RUNNING_FILE].sort(),
    );
    expect(fleet[STUDIO_POWER]).toEqual({ content: template("master/studio-power.sh"), mode: "0755" });
    expect(fleet[STUDIO_MAX_RUNNING_FILE]).toEqual({ content: "2\n", mode: "0644" });
    expect(() => studioFleetFiles({ maxRunning: 0 })).toThrow(/above 0/);
  });

  it("wake on the first request, proxy until idle, and sleep however the service ended", () => {
    expect(values(service, "Service", "EnvironmentFile")).toEqual(["/opt/supafleet/studio/%i/waker.env"]);
    expect(values(service, "Service", "ExecStartPre")).toEqual(["/usr/local/lib/supafleet/studio-power wake %i"]);
    expect(values(service, "Service", "ExecStart")).toEqual(["/usr/lib/systemd/systemd-socket-proxyd --exit-idle-time=${STUDIO_IDLE} ${STUDIO_UPSTREAM}"]);
    expect(values(service, "Service", "ExecStopPost")).toEqual(["/usr/local/lib/supafleet/studio-power sleep %i"]);
    expect(values(service, "Unit", "Requires")).toEqual(["supafleet-studio@%i.socket"]);
    // Accept=no (the default): one proxy takes the listening socket.
    expect(values(socket, "Socket", "Accept")).toEqual([]);
  });

  it("never leave the socket failed for good after refused wakes: no start limit, no trigger limit, queued connections turned away", () => {
    expect(values(service, "Unit", "StartLimitIntervalSec")).toEqual(["0"]);
    expect(values(socket, "Socket", "TriggerLimitIntervalSec")).toEqual(["0"]);
    expect(values(socket, "Socket", "FlushPending")).toEqual(["yes"]);
  });

  it("and studio-power agree on the paths and the label", () => {
    const script = fleet[STUDIO_POWER]!.content;
    expect(script).toContain(`STUDIO_DIR="\${SUPAFLEET_STUDIO_DIR:-${STUDIO_DIR}}"`);
    expect(script).toContain(`MAX_FILE="\${SUPAFLEET_STUDIO_MAX_FILE:-${STUDIO_MAX_RUNNING_FILE}}"`);
    expect(script).toContain(`LABEL='${STUDIO_LABEL}'`);
  });
});

describe("systemd itself", () => {
  const dir = mkdtempSync(join(tmpdir(), "supafleet-studio-units-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads the units and the drop-in with no finding (systemd-analyze verify)", () => {
    const units = join(dir, "system");
    mkdirSync(join(units, "supafleet-studio@acme.socket.d"), { recursive: true });
    // verify checks that each command is executable: studio-power is put where it can find it.
    const power = join(dir, "studio-power");
    writeFileSync(power, fleet[STUDIO_POWER]!.content);
    chmodSync(power, 0o755);
    writeFileSync(join(units, "supafleet-studio@.socket"), socket);
    writeFileSync(join(units, "supafleet-studio@.service"), service.replaceAll(STUDIO_POWER, power));
    writeFileSync(join(units, "supafleet-studio@acme.socket.d", "listen.conf"), acme[listenDropInPath("acme")]!.content);
    const r = spawnSync("systemd-analyze", ["verify", "supafleet-studio@acme.socket", "supafleet-studio@acme.service"], {
      encoding: "utf8",
      env: { ...process.env, SYSTEMD_UNIT_PATH: `${units}:` },
    });
    if (r.error) throw new Error(`systemd-analyze did not run (${r.error.message}); install systemd: bash scripts/install-test-deps.sh`);
    expect(`${r.stdout}${r.stderr}`.trim()).toBe("");
    expect(r.status).toBe(0);
  });
});
