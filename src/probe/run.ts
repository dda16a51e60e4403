import { randomBytes } from "node:crypto";
import { absentCheckName, checkAbsent, type GatewayService } from "./checks/absent";
import { checkAccess } from "./checks/access";
import { deleteProbeUsers, signInProbeUsers, type AuthState } from "./checks/auth";
import { authorizeCheckName, checkAuthorize, checkEmailSignup, checkRedirects, checkedProviders } from "./checks/authSettings";
import { checkBackup, sshRunner, type RemoteRunner } from "./checks/backup";
import { checkCustomDomain, customDomainCheckName } from "./checks/customDomain";
import { checkFunction } from "./checks/functions";
import { checkIsolation } from "./checks/isolation";
import { checkKuma } from "./checks/kuma";
import { masterVerdict, sweep, workerVerdict, type SweepOptions } from "./checks/ports";
import { checkRealtime } from "./checks/realtime";
import { checkRows } from "./checks/rows";
import { checkStorage } from "./checks/storage";
import { measureLatency, waitHealthy } from "./checks/timings";
import { runCheck, skip, type CheckResult } from "./result";
import type { ProbeTarget } from "./target";

type Project = ProbeTarget["projects"][number];

export interface ProbeOptions {
  /** When `pulumi up` started (epoch ms). */
  since?: number;
  ports: readonly number[];
  /** Where the master's SSH listens; only tests move it. */
  sshPort?: number;
  sshKey?: string;
  /** Runs the backup drill on a worker; defaults to ssh with sshKey. */
  remote?: RemoteRunner;
  /** Unique per run, so reruns never collide; random unless a test pins it. */
  tag?: string;
  realtimeTimeoutMs?: number;
  health?: { intervalMs: number; limitMs: number };
  sweep?: SweepOptions;
}

/**
 * The checks a project gets once it is healthy, in the order they run: each service it runs is used
 * as a client would; each it left out must have no route on its gateway (src/probe/checks/absent.ts).
 */
export function projectChecks(p: Project): string[] {
  const s = p.services;
  return [
    "latency",
    ...(p.customDomains ?? []).map(customDomainCheckName),
    "auth",
    "signup",
    "redirects",
    ...checkedProviders(p).map((x) => authorizeCheckName(x.name)),
    ...(p.mspOps ? ["rows", "isolation"] : []),
    ...(s.realtime ? (p.mspOps ? ["realtime"] : []) : [absentCheckName("realtime")]),
    ...(s.storage ? ["storage"] : [absentCheckName("storage")]),
    ...(s.functions ? p.functions.map((f) => `function ${f}`) : [absentCheckName("functions")]),
    "backup",
  ];
}

async function probeProject(target: ProbeTarget, p: Project, opts: ProbeOptions, tag: string, startedAt: number): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const health = await waitHealthy(p.apiUrl, p.anonKey, { since: opts.since ?? startedAt, intervalMs: opts.health?.intervalMs ?? 5_000, limitMs: opts.health?.limitMs ?? 900_000 });
  out.push({ name: "healthy", project: p.name, ok: health.ok, detail: health.detail, ms: health.elapsedMs });
  if (!health.ok) return [...out, ...projectChecks(p).map((n) => skip(n, p.name, "the API never answered 200"))];
  const absent = (s: GatewayService): Promise<CheckResult> => runCheck(absentCheckName(s), p.name, () => checkAbsent(p.apiUrl, p.anonKey, s));

  out.push(await runCheck("latency", p.name, () => measureLatency(p.apiUrl, p.anonKey)));
  for (const d of p.customDomains ?? []) out.push(await runCheck(customDomainCheckName(d), p.name, () => checkCustomDomain(p.apiUrl, d, p.anonKey)));

  const state: AuthState = { users: [], created: [] };
  const auth = await runCheck("auth", p.name, () => signInProbeUsers(p, target.stack, tag, state));
  out.push(auth);
  try {
    // The project's own Auth settings as a visitor meets them; the users made here go with the cleanup below.
    out.push(await runCheck("signup", p.name, () => checkEmailSignup(p, target.stack, tag, state)));
    out.push(state.created.length > 0 ? await runCheck("redirects", p.name, () => checkRedirects(p, tag, state)) : skip("redirects", p.name, "no probe user to send a magic link to"));
    for (const provider of checkedProviders(p)) out.push(await runCheck(authorizeCheckName(provider.name), p.name, () => checkAuthorize(p, provider)));
    const [a, b] = auth.ok ? state.users : [];
    if (p.mspOps) {
      let row: { id: string; nombre: string } | undefined;
      out.push(
        a
          ? await runCheck("rows", p.name, async () => {
              const r = await checkRows(a, tag);
              if (r.id && r.nombre) row = { id: r.id, nombre: r.nombre };
              return r;
            })
          : skip("rows", p.name, "no signed-in user"),
      );
      if (p.tenants.length < 2) out.push(skip("isolation", p.name, "the project has one tenant; isolation needs two"));
      else if (!a || !b) out.push(skip("isolation", p.name, "the two users did not both sign in"));
      else if (!row) out.push(skip("isolation", p.name, "no row from the rows check"));
      else {
        const r = row;
        out.push(await runCheck("isolation", p.name, () => checkIsolation(a, b, r, tag)));
      }
      // Without Realtime, its row comes after the users are gone, with the other services left out.
      if (p.services.realtime) {
        if (!a || !row) out.push(skip("realtime", p.name, !a ? "no signed-in user" : "no clientes row to open a ticket for"));
        else {
          const clienteId = row.id;
          out.push(await runCheck("realtime", p.name, () => checkRealtime(a, clienteId, tag, opts.realtimeTimeoutMs ?? 15_000)));
        }
      }
    }
  } finally {
    const problem = await deleteProbeUsers(p, state);
    if (problem) auth.detail += `; cleanup: ${problem}`;
  }

  if (!p.services.realtime) out.push(await absent("realtime"));
  out.push(p.services.storage ? await runCheck("storage", p.name, () => checkStorage(p, tag)) : await absent("storage"));
  if (!p.services.functions) out.push(await absent("functions"));
  else for (const f of p.functions) out.push(await runCheck(`function ${f}`, p.name, () => checkFunction(p, f)));

  const remote = opts.remote ?? (opts.sshKey ? sshRunner(opts.sshKey) : undefined);
  out.push(
    remote
      ? await runCheck("backup", p.name, () => checkBackup(p.name, { jump: target.hosts.master.meshAddress, host: p.worker.meshAddress }, remote))
      : skip("backup", p.name, "no --ssh-key given"),
  );
  return out;
}

/** One host at a time: each sweep already holds up to 512 sockets, and more would hit the open-file limit. */
async function probePorts(target: ProbeTarget, opts: ProbeOptions): Promise<CheckResult[]> {
  const n = opts.ports.length;
  const out = [await runCheck("ports", "master", async () => masterVerdict(target.hosts.master.ipv4, n, await sweep(target.hosts.master.ipv4, opts.ports, opts.sweep), opts.sshPort ?? 22))];
  for (const w of target.hosts.workers) out.push(await runCheck("ports", w.name, async () => workerVerdict(w.ipv4, n, await sweep(w.ipv4, opts.ports, opts.sweep))));
  return out;
}

/** Every check against a running stack; never throws for a failing check. Projects run one after another. */
export async function runProbe(target: ProbeTarget, opts: ProbeOptions): Promise<CheckResult[]> {
  const tag = opts.tag ?? randomBytes(4).toString("hex");
  const startedAt = Date.now();
  const projects = (async () => {
    const rows: CheckResult[] = [];
    for (const p of target.projects) rows.push(...(await probeProject(target, p, opts, tag, startedAt)));
    return rows;
  })();
  const access = Promise.all([...new Set([...target.accessProtected, ...target.projects.map((p) => p.studioUrl)])].map((u) => runCheck("access", "-", () => checkAccess(u))));
  const kuma = Promise.all(target.kuma.statusPages.map((slug) => runCheck("kuma", slug, () => checkKuma(target.kuma.url, slug))));
  const [projectRows, accessRows, portRows, kumaRows] = await Promise.all([projects, access, probePorts(target, opts), kuma]);

  const healthy = projectRows.filter((r) => r.name === "healthy" && r.ok);
  const first: CheckResult =
    healthy.length > 0
      ? { name: "first healthy", project: "-", ok: true, detail: `${healthy.reduce((x, y) => (y.ms < x.ms ? y : x)).project} first`, ms: Math.min(...healthy.map((r) => r.ms)) }
      : { name: "first healthy", project: "-", ok: false, detail: "no project became healthy", ms: 0 };
  return [first, ...projectRows, ...accessRows, ...portRows, ...kumaRows];
}
