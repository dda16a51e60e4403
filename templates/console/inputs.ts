import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ConsoleFleet } from "./fleet";

/** The per-worker command keys, by worker name: 64 lowercase hex characters each. */
export type WorkerKeys = Readonly<Record<string, string>>;

export interface ConsoleInputs {
  readonly fleet: ConsoleFleet;
  readonly keys: WorkerKeys;
}

/** A missing or malformed input: its message names the file and what is wrong, never a key. */
export class ConsoleInputError extends Error {}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConsoleInputError(code === "ENOENT" ? `${file} is missing` : `${file} cannot be read (${code ?? "unknown error"})`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ConsoleInputError(`${file} is not valid JSON`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === "string" && v !== "";

/** The fields the console relies on; the rest of ConsoleFleet is shown as it comes. */
function fleetProblems(f: unknown): string[] {
  if (!isObject(f)) return ["it is not an object"];
  const problems: string[] = [];
  for (const k of ["env", "domain", "infraRelease"]) if (!isString(f[k])) problems.push(`"${k}" is not a string`);
  if (!isObject(f.master) || !isString(f.master.address)) problems.push(`"master.address" is not a string`);
  if (!isObject(f.kuma) || !isString(f.kuma.url) || !isString(f.kuma.fleetStatusPage) || !isString(f.kuma.dashboardUrl)) problems.push(`"kuma" needs "url", "fleetStatusPage" and "dashboardUrl"`);
  if (!isObject(f.access) || !isString(f.access.teamName) || !isString(f.access.aud)) problems.push(`"access" needs "teamName" and "aud"`);
  if (typeof f.reportIntervalSeconds !== "number" || !(f.reportIntervalSeconds > 0)) problems.push(`"reportIntervalSeconds" is not a positive number`);
  const workers = Array.isArray(f.workers) ? f.workers : [];
  if (!Array.isArray(f.workers)) problems.push(`"workers" is not a list`);
  workers.forEach((w: unknown, i) => {
    if (!isObject(w) || !isString(w.name) || !isString(w.address) || typeof w.agentPort !== "number") problems.push(`"workers[${i}]" needs "name", "address" and "agentPort"`);
  });
  const names = new Set(workers.filter(isObject).map((w) => w.name));
  if (!Array.isArray(f.tenants)) problems.push(`"tenants" is not a list`);
  (Array.isArray(f.tenants) ? f.tenants : []).forEach((t: unknown, i) => {
    if (!isObject(t) || !isString(t.slug) || !isString(t.name) || !Array.isArray(t.projects)) return problems.push(`"tenants[${i}]" needs "slug", "name" and "projects"`);
    t.projects.forEach((p: unknown, j) => {
      const at = `"tenants[${i}].projects[${j}]"`;
      if (!isObject(p) || !isString(p.name) || !Array.isArray(p.services) || !isObject(p.links)) return problems.push(`${at} needs "name", "services" and "links"`);
      if (!names.has(p.worker)) problems.push(`${at} names a worker that is not in "workers"`);
    });
  });
  return problems;
}

export function loadConsoleInputs(dir: string): ConsoleInputs {
  const fleetFile = join(dir, "fleet.json");
  const fleet = readJson(fleetFile);
  const problems = fleetProblems(fleet);
  if (problems.length > 0) throw new ConsoleInputError(`${fleetFile} is malformed: ${problems.join("; ")}`);

  const keysFile = join(dir, "keys.json");
  const keys = readJson(keysFile);
  if (!isObject(keys)) throw new ConsoleInputError(`${keysFile} is malformed: it is not an object`);
  // Names only: a key's value never goes into a message.
  const bad = Object.entries(keys).filter(([, v]) => typeof v !== "string" || !/^[0-9a-f]{64}$/.test(v)).map(([k]) => k);
  if (bad.length > 0) throw new ConsoleInputError(`${keysFile} is malformed: the key of ${bad.join(", ")} is not 64 lowercase hex characters`);
  const missing = (fleet as ConsoleFleet).workers.map((w) => w.name).filter((w) => !(w in keys));
  if (missing.length > 0) throw new ConsoleInputError(`${keysFile} has no key for worker ${missing.join(", ")}`);
  return { fleet: fleet as ConsoleFleet, keys: keys as WorkerKeys };
}

/** CONSOLE_LISTEN: "address:port" (an IPv4 address). */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(value);
  const port = Number(m?.[2]);
  if (m === null || port < 1 || port > 65535) throw new ConsoleInputError(`CONSOLE_LISTEN is "${value}", not address:port (as 10.100.0.1:3002)`);
  return { host: m[1]!, port };
}
