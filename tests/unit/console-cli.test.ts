import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessToken, alignTable, DEFAULT_URL, FleetError, parseFleetArgs, runFleet, statusTable, UsageError, type FleetArgs } from "../../scripts/fleet";
import type { ConsoleFleet } from "../../templates/console/fleet";
import { createConsole, type Console } from "../../templates/console/server";
import type { FleetView } from "../../templates/console/view";
import { TestAccess } from "../helpers/consoleAccess";
import { ROOT } from "../helpers/stacks";

/** `npm run fleet`: its arguments, its table, and its errors against a real console on loopback. */
describe("npm run fleet's arguments", () => {
  it("reads a command, its arguments, and where the console is", () => {
    expect(parseFleetArgs(["status"], {})).toEqual({ run: { command: "status" }, url: DEFAULT_URL });
    expect(parseFleetArgs(["status", "--url", "http://10.100.0.1:3002/"], {}).url).toBe("http://10.100.0.1:3002");
    expect(parseFleetArgs(["status"], { SUPAFLEET_CONSOLE_URL: "http://10.100.0.9:3002" }).url).toBe("http://10.100.0.9:3002");
    expect(parseFleetArgs(["status", "--url", "http://a:1"], { SUPAFLEET_CONSOLE_URL: "http://b:2" }).url).toBe("http://a:1");
    expect(parseFleetArgs(["backup-now", "acme"], {}).run).toEqual({ command: "backup-now", project: "acme" });
    expect(parseFleetArgs(["restart", "acme"], {}).run).toEqual({ command: "restart", project: "acme" });
    expect(parseFleetArgs(["restart", "acme", "rest"], {}).run).toEqual({ command: "restart", project: "acme", service: "rest" });
    expect(parseFleetArgs(["logs", "acme", "auth"], {}).run).toEqual({ command: "logs", project: "acme", service: "auth" });
  });

  it("finds the console's hostname for cloudflared in --domain or SUPAFLEET_CONSOLE_HOST", () => {
    expect(parseFleetArgs(["status", "--domain", "example.com"], { SUPAFLEET_CONSOLE_HOST: "console.other.com" }).host).toBe("console.example.com");
    expect(parseFleetArgs(["status"], { SUPAFLEET_CONSOLE_HOST: "console.other.com" }).host).toBe("console.other.com");
    expect(parseFleetArgs(["status"], {}).host).toBeUndefined();
  });

  it("refuses what it cannot run, saying why", () => {
    const refusal = (argv: string[]): string => {
      try {
        parseFleetArgs(argv, {});
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as Error).message;
      }
      throw new Error(`${argv.join(" ")} was accepted`);
    };
    expect(refusal([])).toBe("no command given");
    expect(refusal(["delete", "acme"])).toBe('unknown command "delete"');
    expect(refusal(["backup-now"])).toBe("backup-now takes 1 argument, not 0");
    expect(refusal(["logs", "acme"])).toBe("logs takes 2 arguments, not 1");
    expect(refusal(["restart", "a", "b", "c"])).toBe("restart takes 1 or 2 arguments, not 3");
    expect(refusal(["status", "extra"])).toBe("status takes 0 arguments, not 1");
    expect(refusal(["status", "--url", "ftp://x"])).toBe('the console URL "ftp://x" is not http(s)://host[:port]');
    expect(refusal(["status", "--verbose"])).toMatch(/Unknown option '--verbose'/);
  });
});

describe("npm run fleet -- status's table", () => {
  it("aligns every column to its widest cell", () => {
    expect(alignTable([["A", "BB", "C"], ["long", "x", "y"]])).toBe("A     BB  C\nlong  x   y\n");
  });

  it("prints one line per project, then the problems of those that are not healthy, and says when Kuma is unreachable", () => {
    const project = (name: string, state: "healthy" | "unhealthy", backups: FleetView["tenants"][number]["projects"][number]["backups"], problems: string[] = []) => ({
      name,
      tenant: "t",
      worker: "w1",
      isolation: "shared",
      release: "r",
      services: [],
      links: { api: "", studio: "", monitors: [] },
      health: { state, problems },
      monitors: [],
      backups,
    });
    const view: FleetView = {
      env: "prod",
      domain: "example.com",
      infraRelease: "1",
      generatedAt: "",
      reportIntervalSeconds: 60,
      kuma: { reachable: false, error: "Uptime Kuma at http://10.100.0.1:3001 is unreachable (ECONNREFUSED)", dashboardUrl: "https://status.example.com" },
      workers: [],
      tenants: [
        { slug: "acme", name: "Acme", projects: [project("acme-production", "healthy", { enabled: true, pitr: false, lastSnapshot: { at: "", ageSeconds: 7200, labels: [] } })] },
        {
          slug: "globex",
          name: "Globex",
          projects: [project("gx", "unhealthy", { enabled: true, pitr: false, unknown: "the agent is unreachable" }, ["gx-db is unhealthy"]), project("gx-dev", "healthy", { enabled: false, pitr: false })],
        },
      ],
    };
    expect(statusTable(view)).toBe(
      [
        "PROJECT          TENANT  WORKER  HEALTH     LAST BACKUP",
        "acme-production  acme    w1      healthy    2 h ago",
        "gx               globex  w1      unhealthy  unknown",
        "gx-dev           globex  w1      healthy    not backed up",
        "",
        "problems:",
        "  gx: gx-db is unhealthy",
        "note: Uptime Kuma at http://10.100.0.1:3001 is unreachable (ECONNREFUSED)",
        "",
      ].join("\n"),
    );
  });
});

describe("npm run fleet against a console", () => {
  const access = new TestAccess();
  const state = mkdtempSync(join(tmpdir(), "supafleet-fleet-cli-"));
  let app: Console;
  let url: string;
  let token: string;
  let closedPort: number;

  const fleet: ConsoleFleet = {
    env: "test",
    domain: "example.test",
    infraRelease: "1",
    master: { name: "master", address: "127.0.0.1" },
    workers: [],
    tenants: [{ slug: "acme", name: "Acme", projects: [] }],
    kuma: { url: "http://127.0.0.1:9", fleetStatusPage: "supafleet-fleet", dashboardUrl: "https://status.example.test" },
    access: { teamName: "t", aud: "a" },
    reportIntervalSeconds: 60,
  };
  const args = (run: FleetArgs["run"], at = url): FleetArgs => ({ run, url: at });
  const failure = async (run: FleetArgs["run"], env: NodeJS.ProcessEnv, at = url): Promise<string> => {
    const e = await runFleet(args(run, at), env, () => {}).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(e).toBeInstanceOf(FleetError);
    return (e as Error).message;
  };

  beforeAll(async () => {
    await access.start();
    token = await access.token({ email: "ops@example.com" });
    app = createConsole({ inputs: { fleet, keys: {} }, stateDir: state, access: access.settings });
    await app.listen("127.0.0.1", 0);
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    closedPort = await new Promise((resolve) => {
      const probe = createNetServer().listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
  });
  afterAll(async () => {
    await app?.close();
    await access.stop();
    rmSync(state, { recursive: true, force: true });
  });

  it("says there is no token when neither the environment nor cloudflared has one", async () => {
    expect(() => accessToken({}, undefined)).toThrow("no Access token: set SUPAFLEET_ACCESS_TOKEN, or pass --domain <domain> (or set SUPAFLEET_CONSOLE_HOST) so that cloudflared can give one");
    expect(() => accessToken({ PATH: join(state, "no-bin") }, "console.example.com")).toThrow(/^no Access token: SUPAFLEET_ACCESS_TOKEN is not set and cloudflared cannot be run \(spawnSync cloudflared ENOENT\)$/);
    expect(accessToken({ SUPAFLEET_ACCESS_TOKEN: token }, "console.example.com")).toBe(token);
  });

  it("says when the console cannot be reached, refuses the token, or has no such project", async () => {
    const env = { SUPAFLEET_ACCESS_TOKEN: token };
    expect(await failure({ command: "status" }, env, `http://127.0.0.1:${closedPort}`)).toBe(`cannot reach the console at http://127.0.0.1:${closedPort} (ECONNREFUSED); is this machine on the mesh?`);
    expect(await failure({ command: "status" }, { SUPAFLEET_ACCESS_TOKEN: "a.b.c" })).toBe("the console refused the Access token: the Access token is not valid for this console");
    expect(await failure({ command: "backup-now", project: "nope" }, env)).toBe('there is no project "nope" in this fleet');
  });

  it("exits 2 with its usage on a bad command line, and 1 with the console's sentence on a refusal, never printing the token", async () => {
    const run = (argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
      new Promise((resolve) =>
        execFile(process.execPath, [join(ROOT, "node_modules/tsx/dist/cli.mjs"), join(ROOT, "scripts/fleet.ts"), ...argv], { env: { ...process.env, SUPAFLEET_ACCESS_TOKEN: token }, encoding: "utf8" }, (e, stdout, stderr) =>
          resolve({ code: e === null ? 0 : Number((e as { code?: number }).code), stdout, stderr }),
        ),
      );
    const [usage, unknown] = await Promise.all([run(["bogus"]), run(["restart", "nope", "--url", url])]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^fleet: unknown command "bogus"\nusage: npm run fleet -- <command>/);
    expect(unknown).toEqual({ code: 1, stdout: "", stderr: 'fleet: there is no project "nope" in this fleet\n' });
  });
});
