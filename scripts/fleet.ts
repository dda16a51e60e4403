/**
 * The console's terminal twin, over the mesh:
 *   npm run fleet -- status [--url URL]
 *   npm run fleet -- backup-now <project>
 *   npm run fleet -- restart <project> [service]
 *   npm run fleet -- logs <project> <service>
 * It calls the console's own API (default http://10.100.0.1:3002, or --url, or
 * SUPAFLEET_CONSOLE_URL) with Cloudflare Access's token: SUPAFLEET_ACCESS_TOKEN,
 * or what `cloudflared access token` holds for the console's hostname
 * (https://console.<--domain>, or https://<SUPAFLEET_CONSOLE_HOST>).
 */
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import type { ConsoleJob } from "../templates/console/actions";
import { formatAge } from "../templates/console/format";
import { reasonOf } from "../templates/console/reason";
import type { FleetView } from "../templates/console/view";

export const DEFAULT_URL = "http://10.100.0.1:3002";
export const USAGE = `usage: npm run fleet -- <command> [--url URL] [--domain DOMAIN]
  status                       every project: tenant, worker, health, last backup
  backup-now <project>         a backup now, tagged manual; waits for it to end
  restart <project> [service]  restart a project, or one of its services
  logs <project> <service>     the last 200 log lines of a service`;

export type FleetCommand =
  | { readonly command: "status" }
  | { readonly command: "backup-now"; readonly project: string }
  | { readonly command: "restart"; readonly project: string; readonly service?: string }
  | { readonly command: "logs"; readonly project: string; readonly service: string };

export interface FleetArgs {
  readonly run: FleetCommand;
  readonly url: string;
  /** The console's hostname, to ask cloudflared for a token when none is given. */
  readonly host?: string;
}

export class UsageError extends Error {}

/** What the command line and environment ask for, or a UsageError saying what is wrong. */
export function parseFleetArgs(argv: readonly string[], env: NodeJS.ProcessEnv): FleetArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: { url: { type: "string" }, domain: { type: "string" } } });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const [command, ...rest] = parsed.positionals;
  const want = (n: number, max = n): void => {
    if (rest.length < n || rest.length > max) throw new UsageError(`${command} takes ${n === max ? n : `${n} or ${max}`} argument${max === 1 ? "" : "s"}, not ${rest.length}`);
  };
  let run: FleetCommand;
  switch (command) {
    case "status":
      want(0);
      run = { command };
      break;
    case "backup-now":
      want(1);
      run = { command, project: rest[0]! };
      break;
    case "restart":
      want(1, 2);
      run = { command, project: rest[0]!, ...(rest[1] !== undefined ? { service: rest[1] } : {}) };
      break;
    case "logs":
      want(2);
      run = { command, project: rest[0]!, service: rest[1]! };
      break;
    case undefined:
      throw new UsageError("no command given");
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
  const url = (parsed.values.url ?? env.SUPAFLEET_CONSOLE_URL ?? DEFAULT_URL).replace(/\/+$/, "");
  if (!/^https?:\/\/[^/]+$/.test(url)) throw new UsageError(`the console URL "${url}" is not http(s)://host[:port]`);
  const host = parsed.values.domain !== undefined ? `console.${parsed.values.domain}` : env.SUPAFLEET_CONSOLE_HOST || undefined;
  return { run, url, ...(host !== undefined ? { host } : {}) };
}

/** An aligned table: every column as wide as its widest cell. */
export function alignTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ")).join("\n") + "\n";
}

/** `status`: one line per project, then what is wrong with those that are not healthy. */
export function statusTable(view: FleetView): string {
  const rows = [["PROJECT", "TENANT", "WORKER", "HEALTH", "LAST BACKUP"]];
  const problems: string[] = [];
  for (const t of view.tenants) {
    for (const p of t.projects) {
      const b = p.backups;
      const backup = !b.enabled ? "not backed up" : b.lastSnapshot !== undefined ? `${formatAge(b.lastSnapshot.ageSeconds)} ago` : b.unknown !== undefined ? "unknown" : "none yet";
      rows.push([p.name, t.slug, p.worker, p.health.state, backup]);
      for (const problem of p.health.problems) problems.push(`  ${p.name}: ${problem}`);
    }
  }
  const kuma = view.kuma.reachable ? [] : [`note: ${view.kuma.error ?? "Uptime Kuma is unreachable"}`];
  return alignTable(rows) + [...(problems.length > 0 ? ["", "problems:", ...problems] : []), ...kuma].map((l) => `${l}\n`).join("");
}

export class FleetError extends Error {}

/** The Access token: the environment's, or cloudflared's for the console's hostname. */
export function accessToken(env: NodeJS.ProcessEnv, host: string | undefined): string {
  if (env.SUPAFLEET_ACCESS_TOKEN) return env.SUPAFLEET_ACCESS_TOKEN;
  if (host === undefined) throw new FleetError("no Access token: set SUPAFLEET_ACCESS_TOKEN, or pass --domain <domain> (or set SUPAFLEET_CONSOLE_HOST) so that cloudflared can give one");
  const app = `https://${host}`;
  const r = spawnSync("cloudflared", ["access", "token", `-app=${app}`], { encoding: "utf8", env });
  if (r.error !== undefined) throw new FleetError(`no Access token: SUPAFLEET_ACCESS_TOKEN is not set and cloudflared cannot be run (${r.error.message})`);
  const token = r.stdout.trim();
  if (r.status !== 0 || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) throw new FleetError(`no Access token: cloudflared holds none for ${app}; run \`cloudflared access login ${app}\` first`);
  return token;
}

/** One call to the console's API; its refusals become FleetErrors with the console's own sentence. */
async function call<T>(args: FleetArgs, token: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${args.url}${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { "cf-access-jwt-assertion": token, ...(body !== undefined ? { "content-type": "application/json", "x-supafleet-action": "1" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(200_000),
    });
  } catch (e) {
    throw new FleetError(`cannot reach the console at ${args.url} (${reasonOf(e)}); is this machine on the mesh?`);
  }
  const answer = (await res.json().catch(() => ({}))) as T & { error?: string };
  if (res.status === 401) throw new FleetError(`the console refused the Access token: ${answer.error ?? "no reason given"}`);
  if (!res.ok) throw new FleetError(answer.error ?? `the console answered ${res.status}`);
  return answer;
}

export async function runFleet(args: FleetArgs, env: NodeJS.ProcessEnv, print: (text: string) => void): Promise<number> {
  const token = accessToken(env, args.host);
  const r = args.run;
  switch (r.command) {
    case "status":
      print(statusTable(await call<FleetView>(args, token, "/api/fleet")));
      return 0;
    case "restart":
      await call(args, token, "/api/actions", { action: "restart", project: r.project, ...(r.service !== undefined ? { service: r.service } : {}) });
      print(`restarted ${r.project}${r.service !== undefined ? ` ${r.service}` : ""}\n`);
      return 0;
    case "logs": {
      const { lines } = await call<{ lines: string[] }>(args, token, "/api/actions", { action: "logs", project: r.project, service: r.service });
      print(lines.map((l) => `${l}\n`).join(""));
      return 0;
    }
    case "backup-now": {
      let { job } = await call<{ job: ConsoleJob }>(args, token, "/api/actions", { action: "backup-now", project: r.project });
      print(`backup of ${r.project} started on ${job.worker} (job ${job.id})\n`);
      while (job.state === "running") {
        await new Promise((done) => setTimeout(done, 1000));
        ({ job } = await call<{ job: ConsoleJob }>(args, token, `/api/jobs/${encodeURIComponent(job.id)}`));
      }
      print(job.output.map((l) => `  ${l}\n`).join("") + `backup of ${r.project} ${job.state}\n`);
      return job.state === "succeeded" ? 0 : 1;
    }
  }
}

async function main(): Promise<void> {
  let args: FleetArgs;
  try {
    args = parseFleetArgs(process.argv.slice(2), process.env);
  } catch (e) {
    console.error(`fleet: ${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  try {
    process.exitCode = await runFleet(args, process.env, (t) => process.stdout.write(t));
  } catch (e) {
    if (!(e instanceof FleetError)) throw e;
    console.error(`fleet: ${e.message}`);
    process.exitCode = 1;
  }
}

if (require.main === module) void main();
