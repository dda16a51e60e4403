import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { absentVerdict } from "../../src/probe/checks/absent";
import { accessVerdict } from "../../src/probe/checks/access";
import { probeEmail } from "../../src/probe/checks/auth";
import { backupCommand, checkBackup, drillVerdict, type Hops, type RemoteRunner } from "../../src/probe/checks/backup";
import { kumaVerdict, type KumaStatusPage } from "../../src/probe/checks/kuma";
import { masterVerdict, parsePorts, workerVerdict, type PortState } from "../../src/probe/checks/ports";
import { percentile } from "../../src/probe/checks/timings";
import { runCheck, skip } from "../../src/probe/result";
import { projectChecks } from "../../src/probe/run";
import { ProbeTargetSchema } from "../../src/probe/target";

describe("runCheck", () => {
  it("turns a throw into a failure with its message, never a crash", async () => {
    const r = await runCheck("x", "p", async () => {
      throw new Error("boom");
    });
    expect(r).toMatchObject({ name: "x", project: "p", ok: false, detail: "boom" });
  });
  it("reports a skip as a failure with its reason", () => {
    expect(skip("rows", "p", "no signed-in user")).toEqual({ name: "rows", project: "p", ok: false, skipped: true, detail: "skipped: no signed-in user", ms: 0 });
  });
});

describe("probe users", () => {
  it("carry the run tag and an address nobody receives mail at", () => {
    expect(probeEmail("Prod EU", "0a1b2c3d", 0)).toBe("probe-0a1b2c3d-a@prod-eu.invalid");
    expect(probeEmail("staging", "0a1b2c3d", 1)).toBe("probe-0a1b2c3d-b@staging.invalid");
  });
});

describe("access verdicts", () => {
  const u = "https://studio.example.org/";
  it.each([
    [302, "https://team.cloudflareaccess.com/cdn-cgi/access/login/studio.example.org", true],
    [303, "/cdn-cgi/access/login/studio.example.org?redirect_url=%2F", true],
    [302, "https://team.cloudflareaccess.com/somewhere", true],
    [401, null, true],
    [403, null, true],
    [200, null, false],
    [204, null, false],
    [302, "https://studio.example.org/login", false],
    [301, "https://team.cloudflareaccess.com/cdn-cgi/access/login/x", false],
    [307, "https://team.cloudflareaccess.com/cdn-cgi/access/login/x", false],
    [302, "https://cloudflareaccess.com.evil.example/cdn-cgi/x", false],
    [302, null, false],
    [404, null, false],
    [502, null, false],
  ])("%i to %s → ok %s", (status, location, ok) => {
    expect(accessVerdict(u, status, location).ok).toBe(ok);
  });
});

describe("ports", () => {
  it("parses ranges and lists, and names what is bad", () => {
    expect(parsePorts("22")).toEqual([22]);
    expect(parsePorts("80, 22,8000-8002,22")).toEqual([22, 80, 8000, 8001, 8002]);
    expect(parsePorts("1-65535")).toHaveLength(65535);
    for (const bad of ["0", "65536", "10-5", "abc", "", "1-2-3"]) expect(() => parsePorts(bad)).toThrow(/is not a port or range within 1-65535/);
  });
  const seen = (entries: [number, PortState][]): Map<number, PortState> => new Map(entries);
  it("passes a worker with nothing reachable and fails it for an open or refused port", () => {
    expect(workerVerdict("w", 100, seen([])).ok).toBe(true);
    expect(workerVerdict("w", 100, seen([[5432, "open"]]))).toEqual({ ok: false, detail: "w: reachable 5432 (open)" });
    expect(workerVerdict("w", 100, seen([[8000, "refused"]])).ok).toBe(false);
  });
  it("lets the master answer on SSH only", () => {
    expect(masterVerdict("m", 9, seen([[22, "open"]]), 22)).toEqual({ ok: true, detail: "m: nothing else of 9 ports reachable; SSH 22 answered (open)" });
    expect(masterVerdict("m", 9, seen([]), 22)).toEqual({ ok: true, detail: "m: nothing else of 9 ports reachable; SSH 22 did not answer" });
    expect(masterVerdict("m", 9, seen([[22, "open"], [3001, "open"]]), 22)).toMatchObject({ ok: false, detail: "m: reachable besides SSH: 3001 (open); SSH 22 answered (open)" });
  });
  it("keeps a long list of reachable ports readable", () => {
    const many = seen(Array.from({ length: 25 }, (_, i) => [1000 + i, "refused"] as [number, PortState]));
    expect(workerVerdict("w", 100, many).detail).toMatch(/1019 \(refused\) and 5 more$/);
  });
});

describe("backup", () => {
  const hops: Hops = { jump: "10.8.0.1", host: "10.8.0.2" };
  const line = "drill(crm): restored snapshot 4f2a9c1e (taken 2026-01-01 10:00:00) into supafleet_probe: 12 tables match the recorded figures; RPO 0 min, RTO 12s";
  const runner =
    (code: number, stderr: string, stdout = ""): RemoteRunner & { calls: [Hops, string][] } => {
      const calls: [Hops, string][] = [];
      const run = async (h: Hops, command: string) => {
        calls.push([h, command]);
        return { code, stdout, stderr };
      };
      return Object.assign(run, { calls });
    };

  it("runs a backup then the drill into the probe's scratch database, through the master", async () => {
    const run = runner(0, `backup(crm): snapshot saved\n${line}\n`);
    expect(await checkBackup("crm", hops, run)).toEqual({ ok: true, detail: line });
    expect(run.calls).toEqual([[hops, backupCommand("crm")]]);
    expect(backupCommand("crm")).toContain("\nPROJECT='crm'\nSCRATCH_DB='supafleet_probe'\n");
  });
  it("fails when the drill fails, with its reason", async () => {
    expect(await checkBackup("crm", hops, runner(1, "drill(crm): FAILED: the restored database does not match what was recorded\n"))).toEqual({
      ok: false,
      detail: "exit 1: drill(crm): FAILED: the restored database does not match what was recorded",
    });
  });
  it("fails on exit 0 whose last line is not the drill's success", async () => {
    const r = await checkBackup("crm", hops, runner(0, `${line}\nsomething else entirely\n`));
    expect(r).toEqual({ ok: false, detail: "exit 0 but the last line is not the drill's success line: something else entirely" });
    expect((await checkBackup("crm", hops, runner(0, ""))).ok).toBe(false);
  });
  it("accepts only this project's drill line", () => {
    expect(drillVerdict("crm2", { code: 0, stdout: "", stderr: line }).ok).toBe(false);
    expect(drillVerdict("crm", { code: 0, stdout: line, stderr: "" }).ok).toBe(true);
  });
  it("runs backup.sh, then drill.sh only if the backup passed, each on the project's settings; the name is quoted for the remote shell", () => {
    const lib = mkdtempSync(join(tmpdir(), "supafleet-probe-"));
    try {
      const log = join(lib, "calls");
      const tool = (name: string, rc: number): void => {
        writeFileSync(join(lib, name), `#!/bin/sh\nprintf '%s|%s|%s\\n' "${name}" "$RESTIC_CACHE_DIR" "$*" >> '${log}'\nexit ${rc}\n`);
        chmodSync(join(lib, name), 0o755);
      };
      const run = (): number | null =>
        spawnSync("bash", ["--norc", "-c", backupCommand("a'b $x")], { env: { PATH: process.env.PATH, SUPAFLEET_LIB: lib }, stdio: ["ignore", "pipe", "pipe"] }).status;
      tool("backup.sh", 0);
      tool("drill.sh", 0);
      expect(run()).toBe(0);
      tool("backup.sh", 3);
      expect(run()).toBe(3);
      expect(spawnSync("cat", [log], { encoding: "utf8" }).stdout).toBe(
        [
          "backup.sh|/var/cache/supafleet/restic|/etc/supafleet/backup/a'b $x.env run",
          "drill.sh||/etc/supafleet/backup/a'b $x.env supafleet_probe",
          "backup.sh|/var/cache/supafleet/restic|/etc/supafleet/backup/a'b $x.env run",
          "",
        ].join("\n"),
      );
    } finally {
      rmSync(lib, { recursive: true, force: true });
    }
  });
});

describe("kuma verdicts", () => {
  const page: KumaStatusPage = { publicGroupList: [{ name: "a", monitorList: [{ id: 1, name: "api" }] }, { name: "b", monitorList: [{ id: 7, name: "db" }] }] };
  const beat = (status: number, time: string, msg = "") => ({ status, time, msg });
  it("uses each monitor's latest heartbeat, whatever the order", () => {
    const beats = { heartbeatList: { "1": [beat(1, "2026-01-01 10:02:00"), beat(0, "2026-01-01 10:01:00")], "7": [beat(1, "2026-01-01 10:00:00")] } };
    expect(kumaVerdict("s", page, beats)).toEqual({ ok: true, detail: "s: all 2 monitors up" });
  });
  it("names every monitor that is not up, with status and message", () => {
    const beats = { heartbeatList: { "1": [beat(2, "2026-01-01 10:02:00", "retrying")], "7": [beat(3, "2026-01-01 10:02:00")] } };
    expect(kumaVerdict("s", page, beats)).toEqual({ ok: false, detail: "s: api: pending (retrying); db: maintenance" });
  });
  it("fails a monitor without heartbeats and a page without monitors", () => {
    expect(kumaVerdict("s", page, { heartbeatList: { "1": [beat(1, "t")] } })).toEqual({ ok: false, detail: "s: db: no heartbeat yet" });
    expect(kumaVerdict("s", { publicGroupList: [] }, { heartbeatList: {} }).ok).toBe(false);
  });
});

describe("percentile", () => {
  it("is nearest-rank", () => {
    const xs = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(10);
    expect(percentile(xs, 95)).toBe(19);
    expect(percentile([5], 95)).toBe(5);
  });
});

describe("a service the project left out", () => {
  const u = "https://crm.example.org/storage/v1/";
  it.each([
    ["Kong 3's own 404", 404, true, '{\n  "message":"no Route matched with those values",\n  "request_id":"4b1a0c2e"\n}'],
    ["Kong 2.8's own 404", 404, true, '{"message":"no Route matched with those values"}'],
    // Storage (fastify) behind a route, for a path it does not know: the container still runs and is routed.
    ["Storage's own 404", 404, false, '{"statusCode":404,"error":"Not Found","message":"Route GET:/ not found"}'],
    ["a 404 page without JSON", 404, false, "<html>Not Found</html>"],
    ["key-auth on a route that is still there", 401, false, '{"message":"No API key found in request"}'],
    ["the service answering", 200, false, '{"status":"ok"}'],
    ["a gateway error", 502, false, '{"message":"An invalid response was received from the upstream server"}'],
  ])("%s (%i) → ok %s", (_, status, ok, body) => {
    expect(absentVerdict(u, status, body).ok).toBe(ok);
  });
  it("says what was met", () => {
    expect(absentVerdict(u, 404, '{"message":"no Route matched with those values"}').detail).toBe(`${u}: 404 "no Route matched with those values": the gateway has no route there, as the project's services say`);
    expect(absentVerdict(u, 404, '{"statusCode":404,"error":"Not Found","message":"Route GET:/ not found"}').detail).toBe(
      `${u}: 404 from behind a route (Route GET:/ not found), not the gateway's "no Route matched": the service is still routed`,
    );
    expect(absentVerdict(u, 401, "").detail).toBe(`${u}: answered 401, not 404: the gateway still routes to a service the project left out`);
  });
});

describe("the checks of a project", () => {
  const project = (over: Record<string, unknown> = {}) =>
    ProbeTargetSchema.shape.projects.element.parse({
      name: "crm",
      apiUrl: "https://crm.example.org",
      studioUrl: "https://crm-studio.example.org",
      anonKey: "a",
      serviceKey: "s",
      worker: { name: "w1", meshAddress: "10.100.0.11" },
      tenants: [{ slug: "t", id: "00000000-0000-4000-8000-000000000001" }],
      mspOps: true,
      functions: ["hello"],
      ...over,
    });

  it("uses every service of a target that predates the choice of services (no `services` in it)", () => {
    expect(project().services).toEqual({ realtime: true, storage: true, functions: true });
    expect(projectChecks(project())).toEqual(["latency", "auth", "signup", "redirects", "rows", "isolation", "realtime", "storage", "function hello", "backup"]);
    // One left out, the others as before.
    expect(project({ services: { storage: false } }).services).toEqual({ realtime: true, storage: false, functions: true });
  });

  it("checks each service left out for its missing route instead of using it", () => {
    expect(projectChecks(project({ services: { realtime: false, storage: false, functions: false } }))).toEqual([
      "latency",
      "auth",
      "signup",
      "redirects",
      "rows",
      "isolation",
      "realtime left out",
      "storage left out",
      "functions left out",
      "backup",
    ]);
    // Realtime is used through msp-ops' tables; without them it is not checked, but its absence still is.
    expect(projectChecks(project({ mspOps: false }))).toEqual(["latency", "auth", "signup", "redirects", "storage", "function hello", "backup"]);
    expect(projectChecks(project({ mspOps: false, services: { realtime: false } }))).toEqual(["latency", "auth", "signup", "redirects", "realtime left out", "storage", "function hello", "backup"]);
  });

  it("refuses a services entry it does not know", () => {
    expect(() => project({ services: { imgproxy: false } })).toThrow(/imgproxy/);
  });
});
