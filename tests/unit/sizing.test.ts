import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { n8nCompose } from "../../src/automation/n8nCompose";
import { ADDON_IDLE_MIB, BENCH_RUN, HOST_MEASURED_MIB, IDLE_FIGURES, RUNTIME_MEASURED_MIB, idleMiB, typicalIdle, typicalIdleMiB } from "../../src/model/idleMemory";
import { MASTER_ADDON_LIMIT_MIB, MASTER_RESERVED_MIB, STUDIO_ON_MASTER_MIB, masterMemoryFor, studiosThatFit } from "../../src/model/masterSizing";
import { FULL_SERVICES, workerServices } from "../../src/model/projectServices";
import { densityTable, masterTable } from "../../bench/density/table";
import { SERVER_TYPES } from "../../src/model/serverTypes";
import {
  ABOVE_RULE,
  API_ONLY_PROJECT_MIB,
  CONTAINERS_PER_PROJECT,
  FULL_PROJECT_MIB,
  PUBLISHED_PORTS_PER_PROJECT,
  SERVICE_MEMORY_MIB,
  SERVICE_RESERVATION_MIB,
  WORKER_RESERVATION_MIB,
  WORKER_RESERVED_MIB,
  headroomLimit,
  projectBudgetMiB,
  projectsThatFit,
  reservationFor,
  runtimeMiB,
} from "../../src/model/sizing";
import { kumaCompose } from "../../src/monitoring/kumaCompose";
import { projectCompose } from "../../src/supabase/compose";
import { projectPorts } from "../../src/model/ports";
import { RELEASES } from "../../src/model/releases";
import { SERVICES } from "../../src/model/services";
import { ROOT, check, clone, entryServices, kitaTenant, stackDoc } from "../helpers/stacks";

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
const mib = (limit: string): number => {
  const m = /^(\d+)([mg])$/.exec(limit);
  if (!m) throw new Error(`unexpected mem_limit ${limit}`);
  return Number(m[1]) * (m[2] === "g" ? 1024 : 1);
};
const compose = projectCompose({ project: "p", release: RELEASES["2026.08"]!, bindAddress: "10.100.0.2", ports: projectPorts(1), accessTokenHook: false, services: SERVICES });
const budgetOf = (p: Doc): number => projectBudgetMiB(entryServices(p));

/** A row of a markdown table in docs/sizing.md whose first cell is `first`, as its cells. */
const sizingMd = readFileSync(join(ROOT, "docs/sizing.md"), "utf8");
function row(first: string): string[] {
  const line = sizingMd.split("\n").find((l) => l.startsWith(`| ${first} |`));
  if (line === undefined) throw new Error(`docs/sizing.md has no table row for ${first}`);
  return line.split("|").slice(1, -1).map((c) => c.trim());
}
const num = (cell: string): number => Number(cell.replace(/\*/g, "").replace(/,/g, ""));

describe("reservations and limits follow the idle figures", () => {
  it("every container in the rendered compose file carries its reservation and its hard limit", () => {
    expect(Object.keys(compose.services).sort()).toEqual([...SERVICES].sort());
    for (const s of SERVICES) {
      expect(mib(compose.services[s]!.mem_limit), s).toBe(SERVICE_MEMORY_MIB[s]);
      expect(mib(compose.services[s]!.mem_reservation), s).toBe(SERVICE_RESERVATION_MIB[s]);
    }
  });

  it("no reservation is below its typical idle figure, and every limit is above every figure known and the reservation", () => {
    for (const s of SERVICES) {
      const idle = idleMiB(s);
      expect(IDLE_FIGURES[s].length, s).toBeGreaterThan(0);
      expect(SERVICE_RESERVATION_MIB[s], s).toBe(reservationFor(typicalIdleMiB(s)));
      expect(SERVICE_RESERVATION_MIB[s], s).toBeGreaterThanOrEqual(typicalIdleMiB(s) + 8);
      expect(SERVICE_MEMORY_MIB[s], s).toBeGreaterThan(SERVICE_RESERVATION_MIB[s]);
      for (const f of IDLE_FIGURES[s]) expect(SERVICE_MEMORY_MIB[s], `${s}: ${f.source}`).toBeGreaterThan(f.mib);
      expect(SERVICE_MEMORY_MIB[s], `${s} idles at ${idle} MiB`).toBeGreaterThanOrEqual(headroomLimit(idle));
      expect(ABOVE_RULE[s] !== undefined, `${s}: limit ${SERVICE_MEMORY_MIB[s]}, rule ${headroomLimit(idle)}`).toBe(SERVICE_MEMORY_MIB[s] > headroomLimit(idle));
    }
  });

  it("the typical figure is the lab's median where the real server runs as a worker runs it, else the newest published one", () => {
    expect(typicalIdleMiB("meta")).toBe(93.5);
    expect(typicalIdle("db")).toMatchObject({ mib: 102, when: "2025-07" }); // not the lab's 33.3, whose Postgres lacks upstream's workers
    expect(typicalIdle("rest")).toMatchObject({ mib: 13, how: "published" });
    expect(typicalIdle("studio")).toMatchObject({ mib: 145 });
    for (const s of SERVICES) {
      const f = typicalIdle(s);
      if (f.how === "published") for (const g of IDLE_FIGURES[s].filter((x) => x.how === "published")) expect(g.when <= f.when, `${s}: ${g.source}`).toBe(true);
    }
  });

  it("the rules round as documented", () => {
    expect(headroomLimit(23)).toBe(96);
    expect(headroomLimit(88)).toBe(160);
    expect(headroomLimit(243)).toBe(384);
    expect(headroomLimit(128)).toBe(192);
    expect(headroomLimit(128.1)).toBe(224);
    expect(reservationFor(13)).toBe(24);
    expect(reservationFor(93.5)).toBe(104);
    expect(reservationFor(243)).toBe(272);
  });

  it("a project's budget is its services' reservations and its runtime, which counts a shim per container and a proxy per port", () => {
    const full = workerServices({ services: FULL_SERVICES, studio: "master" });
    expect(full).not.toContain("studio");
    expect(FULL_PROJECT_MIB).toBe(sum(full.map((s) => SERVICE_RESERVATION_MIB[s])) + runtimeMiB(full.length));
    expect(API_ONLY_PROJECT_MIB).toBe(sum(["db", "meta", "auth", "rest", "gateway"].map((s) => SERVICE_RESERVATION_MIB[s as keyof typeof SERVICE_RESERVATION_MIB])) + runtimeMiB(5));
    expect(CONTAINERS_PER_PROJECT).toBe(full.length);
    const r = RUNTIME_MEASURED_MIB;
    expect(runtimeMiB(9)).toBeGreaterThanOrEqual(9 * (r.shimPerContainer + r.dockerdPerContainer + r.containerdPerContainer + r.kernelPerContainer) + PUBLISHED_PORTS_PER_PROJECT * r.dockerProxyPerPort);
    expect(runtimeMiB(9) % 8).toBe(0);
  });

  it("the worker's reserve is its itemised parts, each at least what was measured of it", () => {
    expect(WORKER_RESERVED_MIB).toBe(sum(Object.values(WORKER_RESERVATION_MIB)));
    // The daemons' base on the lab's shared engine, with its images and volumes; their growth is per container.
    expect(WORKER_RESERVATION_MIB.docker).toBeGreaterThanOrEqual(HOST_MEASURED_MIB.dockerd + HOST_MEASURED_MIB.containerd);
    expect(WORKER_RESERVATION_MIB.docker).toBeGreaterThanOrEqual(RUNTIME_MEASURED_MIB.daemonsEmpty);
    expect(WORKER_RESERVATION_MIB.backup).toBeGreaterThanOrEqual(2 * HOST_MEASURED_MIB.resticBackupPeak);
    expect(MASTER_RESERVED_MIB).toBe(WORKER_RESERVED_MIB + 64 + sum(Object.values(MASTER_ADDON_LIMIT_MIB)));
  });

  it("the master's add-ons run above their measured idle", () => {
    const limits = (text: string): Record<string, number> =>
      Object.fromEntries(Object.entries((parse(text.replace(/^#.*\n/, "")) as Doc).services).map(([k, v]) => [k, mib((v as Doc).mem_limit)]));
    const n8n = limits(n8nCompose("n8n.example.org", { listen: "10.100.0.1:5679", routes: [{ source: "10.100.0.2", paths: ["/webhook/x"] }] }));
    const kuma = limits(kumaCompose("10.100.0.1"));
    expect(kuma.kuma).toBeGreaterThanOrEqual(headroomLimit(ADDON_IDLE_MIB.kuma));
    expect(n8n.n8n).toBeGreaterThanOrEqual(headroomLimit(ADDON_IDLE_MIB.n8n));
    expect(n8n.gate).toBeGreaterThan(ADDON_IDLE_MIB.gate * 1.5);
  });
});

describe("docs/sizing.md shows the same figures", () => {
  it("each service's figures, its limit rule, limit and reservation, and every figure's source", () => {
    for (const s of SERVICES) {
      const cells = row(s);
      expect(num(cells[1]!), `${s} highest idle`).toBe(idleMiB(s));
      expect(num(cells[2]!), `${s} typical idle`).toBe(typicalIdleMiB(s));
      expect(num(cells[5]!), `${s} rule`).toBe(headroomLimit(idleMiB(s)));
      expect(num(cells[6]!), `${s} limit`).toBe(SERVICE_MEMORY_MIB[s]);
      expect(num(cells[7]!), `${s} reservation`).toBe(SERVICE_RESERVATION_MIB[s]);
      for (const f of IDLE_FIGURES[s]) expect(cells[f.how === "measured" ? 3 : 4], `${s}: ${f.source}`).toContain(String(f.mib));
      const typical = typicalIdle(s);
      if (typical.how === "published") expect(cells[4], s).toContain(`**${typical.mib}`);
    }
    expect(num(row("**full project**")[4]!)).toBe(FULL_PROJECT_MIB);
    expect(num(row("**API-only project**")[4]!)).toBe(API_ONLY_PROJECT_MIB);
    expect(num(row("full project, Studio on its worker")[4]!)).toBe(projectBudgetMiB(SERVICES));
    expect(num(row("**worker reserve**")[1]!)).toBe(WORKER_RESERVED_MIB);
  });

  it("the density tables, here and in docs/benchmarks.md, are bench/density's output", () => {
    const benchmarksMd = readFileSync(join(ROOT, "docs/benchmarks.md"), "utf8");
    const between = (md: string, tag: string): string => md.slice(md.indexOf(`<!-- ${tag} begin -->`) + `<!-- ${tag} begin -->`.length, md.indexOf(`<!-- ${tag} end -->`)).trim();
    for (const md of [sizingMd, benchmarksMd]) {
      expect(between(md, "bench:density")).toBe(densityTable());
      expect(between(md, "bench:density-master")).toBe(masterTable());
    }
    expect(densityTable()).toContain(`| cx33 | 8 GiB | 4 | x86 | ${projectsThatFit(8192)} | ${projectsThatFit(8192, API_ONLY_PROJECT_MIB)} | 2 |`);
  });

  it("the measured figures are those of the bench's run it shows", () => {
    const bench = sizingMd.slice(sizingMd.indexOf("<!-- bench:idle begin -->"), sizingMd.indexOf("<!-- bench:idle end -->"));
    const cells = (prefix: string): string[] => {
      const line = bench.split("\n").find((l) => l.startsWith(`| ${prefix}`));
      if (line === undefined) throw new Error(`the bench's table has no row for ${prefix}`);
      return line.split("|").slice(1, -1).map((c) => c.trim());
    };
    const measured = (s: "db" | "meta"): number => IDLE_FIGURES[s].find((f) => f.how === "measured")!.mib;
    // idle max, the figure the limits are derived from
    expect(num(cells("idle-db |")[5]!)).toBe(measured("db"));
    expect(num(cells("idle-meta |")[5]!)).toBe(measured("meta"));
    expect(num(cells("idle-kuma |")[5]!)).toBe(ADDON_IDLE_MIB.kuma);
    expect(num(cells("idle-n8n |")[5]!)).toBe(ADDON_IDLE_MIB.n8n);
    expect(num(cells("idle-caddy |")[5]!)).toBe(ADDON_IDLE_MIB.gate);
    expect(num(cells("dockerd |")[2]!)).toBe(HOST_MEASURED_MIB.dockerd);
    expect(num(cells("containerd |")[2]!)).toBe(HOST_MEASURED_MIB.containerd);
    expect(num(cells("containerd-shim-runc-v2, per container |")[3]!)).toBe(HOST_MEASURED_MIB.shimPerContainer);
    expect(num(cells("docker-proxy, per published port |")[3]!)).toBe(HOST_MEASURED_MIB.dockerProxyPerPort);
    expect(num(cells("restic ")[2]!)).toBe(HOST_MEASURED_MIB.resticBackupPeak);
    expect(bench).toContain(BENCH_RUN.replace("npm run bench:idle, ", "Run of "));
  });

});

describe("the placement check follows the budget", () => {
  const work = mkdtempSync(join(tmpdir(), "supafleet-sizing-"));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  /** prod with `extra` more shared projects on worker w1. */
  function crowded(extra: number): Doc {
    const c = clone(stackDoc("prod")) as Doc;
    const tenant = c["supafleet:tenants"].find((t: Doc) => (t.projects ?? []).some((p: Doc) => p.placement.worker === "w1"));
    for (let i = 0; i < extra; i++) tenant.projects.push({ name: `extra${i}`, subdomain: `extra${i}`, slot: 20 + i, placement: { worker: "w1" } });
    return c;
  }
  const onW1 = (c: Doc): string[] =>
    c["supafleet:tenants"].flatMap((t: Doc) => t.projects ?? []).filter((p: Doc) => p.placement.worker === "w1").map((p: Doc) => p.name);

  it("a worker holds exactly as many projects as fit, and the next one is refused with the path and each project's budget", () => {
    const c = stackDoc("prod") as Doc;
    const w1 = c["supafleet:workers"][0];
    expect(w1.name).toBe("w1");
    const memory = SERVER_TYPES[w1.serverType as keyof typeof SERVER_TYPES]!.memoryMiB;
    const placed = (d: Doc): Doc[] => d["supafleet:tenants"].flatMap((t: Doc) => t.projects ?? []).filter((p: Doc) => p.placement.worker === "w1");
    const used = sum(placed(c).map(budgetOf)) + WORKER_RESERVED_MIB;
    const room = Math.floor((memory - used) / FULL_PROJECT_MIB);
    expect(room).toBeGreaterThan(0);
    expect(check(crowded(room)).issues).toEqual([]);

    const over = crowded(room + 1);
    const need = used + (room + 1) * FULL_PROJECT_MIB;
    expect(need).toBeGreaterThan(memory);
    const each = placed(over).map((p) => `${p.name} ${budgetOf(p)}`);
    expect(check(over).issues).toEqual([
      {
        path: "workers[0].serverType",
        message: `${w1.serverType} has ${memory} MiB but its ${onW1(over).length} projects need ${need} MiB (${each.join(" + ")} + ${WORKER_RESERVED_MIB} reserved); move a project, leave out services it does not use, or choose a larger type`,
      },
    ]);
    // The same worker takes the last project when it leaves out what it does not use.
    const lean = crowded(room + 1);
    const last = placed(lean).at(-1)!;
    last.services = { realtime: false, storage: false, imgproxy: false, functions: false };
    expect(budgetOf(last)).toBe(API_ONLY_PROJECT_MIB);
    expect(used + room * FULL_PROJECT_MIB + API_ONLY_PROJECT_MIB).toBeLessThanOrEqual(memory);
    expect(check(lean).issues).toEqual([]);
  });

  it("a dedicated server too small for its project is refused", () => {
    const c = clone(stackDoc("prod")) as Doc;
    const tenant = c["supafleet:tenants"].find((t: Doc) => t.isolation === "dedicated");
    tenant.projects[0].placement.dedicated.serverType = "cpx12";
    const at = c["supafleet:tenants"].indexOf(tenant);
    expect(projectsThatFit(2048)).toBe(0);
    expect(check(c).issues).toEqual([
      {
        path: `tenants[${at}].projects[0].placement.dedicated.serverType`,
        message: `cpx12 has 2048 MiB, less than the project needs (${budgetOf(tenant.projects[0])} MiB + ${WORKER_RESERVED_MIB} MiB reserved)`,
      },
    ]);
  });

  it("a master too small for the Studios that may run at once is refused, naming how many it holds", () => {
    const c = clone(stackDoc("staging")) as Doc;
    const type: string = c["supafleet:hetzner"].masterServerType;
    const memory = SERVER_TYPES[type as keyof typeof SERVER_TYPES]!.memoryMiB;
    const fits = studiosThatFit(memory);
    c["supafleet:studios"] = { maxRunning: fits };
    expect(check(c).issues).toEqual([]);
    c["supafleet:studios"] = { maxRunning: fits + 1 };
    expect(check(c).issues).toEqual([
      {
        path: "hetzner.masterServerType",
        message: `${type} has ${memory} MiB but ${fits + 1} Studios at once need ${masterMemoryFor(fits + 1)} MiB (${fits + 1} × ${STUDIO_ON_MASTER_MIB} + ${MASTER_RESERVED_MIB} for the master's own services); it holds ${fits}: lower studios.maxRunning or choose a larger type`,
      },
    ]);
  });

  it("npm run plan refuses the crowded worker and deploys nothing", () => {
    const prod = stackDoc("prod") as Doc;
    const type: string = prod["supafleet:workers"][0].serverType;
    const memory = SERVER_TYPES[type as keyof typeof SERVER_TYPES]!.memoryMiB;
    writeFileSync(join(work, "Pulumi.crowded.yaml"), stringify({ config: crowded(projectsThatFit(memory)) }));
    const r = spawnSync(process.execPath, [join(ROOT, "node_modules/tsx/dist/cli.mjs"), join(ROOT, "scripts/plan.ts"), "--stack", "crowded", "--out", join(work, "out")], {
      cwd: work,
      encoding: "utf8",
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("Pulumi.crowded.yaml has 1 problem; nothing was deployed.");
    expect(r.stderr).toContain(`workers[0].serverType: ${type} has ${memory} MiB but its ${projectsThatFit(memory) + onW1(prod).length} projects need `);
    expect(r.stderr).toContain(`+ ${WORKER_RESERVED_MIB} reserved); move a project, leave out services it does not use, or choose a larger type`);
    expect(existsSync(join(work, "out/crowded"))).toBe(false);
  });

  it("the README's worked example: kita fits on prod's w2, and its quoted refusal is what a cx23 would get", () => {
    const withKita = (serverType: string): Doc => {
      const c = clone(stackDoc("prod")) as Doc;
      c["supafleet:workers"][1].serverType = serverType;
      c["supafleet:tenants"].push(kitaTenant());
      return c;
    };
    expect((stackDoc("prod") as Doc)["supafleet:workers"][1]).toMatchObject({ name: "w2", serverType: "cx43" });
    expect(check(withKita("cx43")).issues).toEqual([]);
    const [issue, ...more] = check(withKita("cx23")).issues;
    expect(more).toEqual([]);
    const quoted = /`(workers\[1\]\.serverType: [^`]*)`/.exec(readFileSync(join(ROOT, "README.md"), "utf8").replace(/\s+/g, " "));
    expect(quoted?.[1]).toBe(`${issue!.path}: ${issue!.message}`);
  });

  it("the committed stacks fit", () => {
    for (const stack of ["staging", "prod"]) expect(check(stackDoc(stack)).issues, stack).toEqual([]);
  });
});
