import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConsoleInputs, parseListen } from "../../templates/console/inputs";
import { ROOT } from "../helpers/stacks";

/** What the console reads when it starts (CONSOLE_DIR's fleet.json and keys.json, CONSOLE_LISTEN), and how it refuses. */
const work = mkdtempSync(join(tmpdir(), "supafleet-console-inputs-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const KEY = "c3".repeat(32);
const fleet = {
  env: "prod",
  domain: "example.com",
  infraRelease: "2026.12.1",
  master: { name: "master", address: "10.100.0.1" },
  workers: [{ name: "w1", address: "10.100.0.2", agentPort: 7081, dedicated: false, monitors: [] }],
  tenants: [{ slug: "acme", name: "Acme", projects: [{ name: "acme", worker: "w1", isolation: "shared", release: "r", services: ["db"], backups: true, pitr: false, links: { api: "https://a", studio: "https://s", monitors: [] } }] }],
  kuma: { url: "http://10.100.0.1:3001", fleetStatusPage: "supafleet-fleet", dashboardUrl: "https://status.example.test" },
  access: { teamName: "team", aud: "aud" },
  reportIntervalSeconds: 60,
};

let dirs = 0;
function consoleDir(files: { fleet?: unknown; keys?: unknown }): string {
  const dir = join(work, String(++dirs));
  mkdirSync(dir);
  for (const [name, value] of Object.entries(files)) writeFileSync(join(dir, `${name}.json`), typeof value === "string" ? value : JSON.stringify(value));
  return dir;
}
const refusal = (dir: string): string => {
  try {
    loadConsoleInputs(dir);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("the inputs were accepted");
};

describe("the console's inputs", () => {
  it("reads a well-formed fleet.json and keys.json", () => {
    const inputs = loadConsoleInputs(consoleDir({ fleet, keys: { w1: KEY } }));
    expect(inputs.fleet.tenants[0]!.projects[0]!.name).toBe("acme");
    expect(inputs.keys).toEqual({ w1: KEY });
  });

  it("names the file and what is wrong with it, and never a key's value", () => {
    let dir = consoleDir({});
    expect(refusal(dir)).toBe(`${dir}/fleet.json is missing`);
    dir = consoleDir({ fleet: "{ not json" });
    expect(refusal(dir)).toBe(`${dir}/fleet.json is not valid JSON`);
    dir = consoleDir({ fleet: { ...fleet, kuma: undefined, reportIntervalSeconds: 0, tenants: [{ ...fleet.tenants[0], projects: [{ ...fleet.tenants[0]!.projects[0], worker: "w9" }] }] } });
    expect(refusal(dir)).toBe(`${dir}/fleet.json is malformed: "kuma" needs "url", "fleetStatusPage" and "dashboardUrl"; "reportIntervalSeconds" is not a positive number; "tenants[0].projects[0]" names a worker that is not in "workers"`);
    dir = consoleDir({ fleet });
    expect(refusal(dir)).toBe(`${dir}/keys.json is missing`);
    dir = consoleDir({ fleet, keys: { w1: KEY.toUpperCase() } });
    expect(refusal(dir)).toBe(`${dir}/keys.json is malformed: the key of w1 is not 64 lowercase hex characters`);
    dir = consoleDir({ fleet, keys: {} });
    expect(refusal(dir)).toBe(`${dir}/keys.json has no key for worker w1`);
  });

  it("listens on an address:port", () => {
    expect(parseListen("10.100.0.1:3002")).toEqual({ host: "10.100.0.1", port: 3002 });
    expect(() => parseListen("10.100.0.1")).toThrow('CONSOLE_LISTEN is "10.100.0.1", not address:port (as 10.100.0.1:3002)');
    expect(() => parseListen("10.100.0.1:70000")).toThrow(/not address:port/);
  });

  it("main.ts exits non-zero with one clear line when an input is wrong", async () => {
    const dir = consoleDir({ fleet, keys: { w1: "xyz", w2: KEY } });
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, [join(ROOT, "node_modules/tsx/dist/cli.mjs"), join(ROOT, "templates/console/main.ts")], { env: { ...process.env, CONSOLE_DIR: dir, CONSOLE_LISTEN: "127.0.0.1:3999" }, encoding: "utf8" }, (e, stdout, stderr) =>
        resolve({ code: e === null ? 0 : Number((e as { code?: number }).code), stdout, stderr }),
      ),
    );
    expect(r).toEqual({ code: 1, stdout: "", stderr: `console: ${dir}/keys.json is malformed: the key of w1 is not 64 lowercase hex characters\n` });
  });
});
