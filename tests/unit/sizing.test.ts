import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { n8nCompose } from "../../src/automation/n8nCompose";
import { ADDON_IDLE_MIB, BENCH_RUN, HOST_MEASURED_MIB, IDLE_FIGURES, idleMiB } from "../../src/model/idleMemory";
import { SERVER_TYPES } from "../../src/model/serverTypes";
import {
  ABOVE_RULE,
  CONTAINERS_PER_PROJECT,
  PROJECT_MEMORY_MIB,
  PROJECT_RUNTIME_MIB,
  PUBLISHED_PORTS_PER_PROJECT,
  SERVICE_MEMORY_MIB,
  WORKER_RESERVATION_MIB,
  WORKER_RESERVED_MIB,
  headroomLimit,
  projectsThatFit,
} from "../../src/model/sizing";
import { kumaCompose } from "../../src/monitoring/kumaCompose";
import { projectCompose } from "../../src/supabase/compose";
import { projectPorts } from "../../src/model/ports";
import { RELEASES } from "../../src/model/releases";
import { SERVICES } from "../../src/model/services";
import { ROOT, check, clone, kitaTenant, stackDoc } from "../helpers/stacks";

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
const mib = (limit: string): number => {
  const m = /^(\d+)([mg])$/.exec(limit);
  if (!m) throw new Error(`unexpected mem_limit ${limit}`);
  return Number(m[1]) * (m[2] === "g" ? 1024 : 1);
};
const compose = projectCompose({ project: "p", release: RELEASES["2026.08"]!, bindAddress: "10.100.0.2", ports: projectPorts(1), accessTokenHook: false });

/** A row of a markdown table in docs/sizing.md whose first cell is `first`, as its cells. */
const sizingMd = readFileSync(join(ROOT, "docs/sizing.md"), "utf8");
function row(first: string): string[] {
  const line = sizingMd.split("\n").find((l) => l.startsWith(`| ${first} |`));
  if (line === undefined) throw new Error(`docs/sizing.md has no table row for ${first}`);
  return line.split("|").slice(1, -1).map((c) => c.trim());
}
const num = (cell: string): number => Number(cell.replace(/\*/g, "").replace(/,/g, ""));

describe("the memory limits follow the idle figures", () => {
  it("every container's hard limit in the rendered compose file is its SERVICE_MEMORY_MIB figure", () => {
    expect(Object.keys(compose.services).sort()).toEqual([...SERVICES].sort());
    for (const s of SERVICES) expect(mib(compose.services[s].mem_limit), s).toBe(SERVICE_MEMORY_MIB[s]);
  });

  it("no limit is below its idle figure plus the headroom rule, and every limit above the rule says why", () => {
    for (const s of SERVICES) {
      const idle = idleMiB(s);
      expect(IDLE_FIGURES[s].length, s).toBeGreaterThan(0);
      for (const f of IDLE_FIGURES[s]) expect(SERVICE_MEMORY_MIB[s], `${s}: ${f.source}`).toBeGreaterThan(f.mib);
      expect(SERVICE_MEMORY_MIB[s], `${s} idles at ${idle} MiB`).toBeGreaterThanOrEqual(headroomLimit(idle));
      expect(ABOVE_RULE[s] !== undefined, `${s}: limit ${SERVICE_MEMORY_MIB[s]}, rule ${headroomLimit(idle)}`).toBe(SERVICE_MEMORY_MIB[s] > headroomLimit(idle));
    }
    // The two that were below their published idle (issue 23): postgres-meta at 64 MiB, Realtime at 192 MiB.
    expect(SERVICE_MEMORY_MIB.meta).toBeGreaterThanOrEqual(headroomLimit(89));
    expect(SERVICE_MEMORY_MIB.realtime).toBeGreaterThanOrEqual(headroomLimit(243));
  });

  it("the headroom rule: half again, at least 64 MiB more, rounded up to 32 MiB", () => {
    expect(headroomLimit(23)).toBe(96);
    expect(headroomLimit(88)).toBe(160);
    expect(headroomLimit(243)).toBe(384);
    expect(headroomLimit(128)).toBe(192);
    expect(headroomLimit(128.1)).toBe(224);
  });

  it("the per-project budget is the sum of the limits plus the measured per-container and per-port runtime cost", () => {
    expect(PROJECT_MEMORY_MIB).toBe(sum(Object.values(SERVICE_MEMORY_MIB)) + PROJECT_RUNTIME_MIB);
    expect(CONTAINERS_PER_PROJECT).toBe(Object.keys(compose.services).length);
    const published = Object.values(compose.services).flatMap((s) => ("ports" in s ? ((s as { ports?: string[] }).ports ?? []) : []));
    expect(published.length).toBe(PUBLISHED_PORTS_PER_PROJECT);
    expect(PROJECT_RUNTIME_MIB).toBeGreaterThanOrEqual(CONTAINERS_PER_PROJECT * HOST_MEASURED_MIB.shimPerContainer + PUBLISHED_PORTS_PER_PROJECT * HOST_MEASURED_MIB.dockerProxyPerPort);
  });

  it("the worker's reservation is its parts, and covers what was measured of the engine and the backup", () => {
    expect(WORKER_RESERVED_MIB).toBe(sum(Object.values(WORKER_RESERVATION_MIB)));
    expect(WORKER_RESERVATION_MIB.docker).toBeGreaterThanOrEqual(HOST_MEASURED_MIB.dockerd + HOST_MEASURED_MIB.containerd);
    // Two projects' nightly backups may overlap.
    expect(WORKER_RESERVATION_MIB.backup).toBeGreaterThanOrEqual(2 * HOST_MEASURED_MIB.resticBackupPeak);
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
  it("each service's idle figure, the rule's limit and the limit", () => {
    for (const s of SERVICES) {
      const cells = row(s);
      expect(num(cells[1]!), `${s} idle`).toBe(idleMiB(s));
      expect(num(cells[4]!), `${s} rule`).toBe(headroomLimit(idleMiB(s)));
      expect(num(cells[5]!), `${s} limit`).toBe(SERVICE_MEMORY_MIB[s]);
      for (const f of IDLE_FIGURES[s]) expect(cells[f.how === "measured" ? 2 : 3], `${s}: ${f.source}`).toContain(String(f.mib));
    }
    expect(num(row("**per project**")[5]!)).toBe(PROJECT_MEMORY_MIB);
    expect(num(row("**worker reserve**")[1]!)).toBe(WORKER_RESERVED_MIB);
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

  it("how many projects fit each server type", () => {
    for (const [type, t] of Object.entries(SERVER_TYPES)) expect(num(row(type)[4]!), type).toBe(projectsThatFit(t.memoryMiB));
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

  it("a worker holds exactly as many projects as fit, and the next one is refused with the path and the numbers", () => {
    const c = stackDoc("prod") as Doc;
    const w1 = c["supafleet:workers"][0];
    expect(w1.name).toBe("w1");
    const memory = SERVER_TYPES[w1.serverType as keyof typeof SERVER_TYPES]!.memoryMiB;
    const fit = projectsThatFit(memory);
    const room = fit - onW1(c).length;
    expect(room).toBeGreaterThanOrEqual(0);
    expect(check(crowded(room)).issues).toEqual([]);

    const over = crowded(room + 1);
    const names = onW1(over);
    expect(names.length).toBe(fit + 1);
    const need = (fit + 1) * PROJECT_MEMORY_MIB + WORKER_RESERVED_MIB;
    expect(need).toBeGreaterThan(memory);
    expect(check(over).issues).toEqual([
      {
        path: "workers[0].serverType",
        message: `${w1.serverType} has ${memory} MiB but its ${fit + 1} projects (${names.join(", ")}) need ${need} MiB (${PROJECT_MEMORY_MIB} MiB each + ${WORKER_RESERVED_MIB} MiB reserved); it fits ${fit}`,
      },
    ]);
  });

  it("a dedicated server too small for one project is refused", () => {
    const c = clone(stackDoc("prod")) as Doc;
    const tenant = c["supafleet:tenants"].find((t: Doc) => t.isolation === "dedicated");
    tenant.projects[0].placement.dedicated.serverType = "cpx12";
    const at = c["supafleet:tenants"].indexOf(tenant);
    expect(projectsThatFit(2048)).toBe(0);
    expect(check(c).issues).toEqual([
      {
        path: `tenants[${at}].projects[0].placement.dedicated.serverType`,
        message: `cpx12 has 2048 MiB, less than one project needs (${PROJECT_MEMORY_MIB} MiB + ${WORKER_RESERVED_MIB} MiB reserved)`,
      },
    ]);
  });

  it("npm run plan refuses the crowded worker and deploys nothing", () => {
    const prod = stackDoc("prod") as Doc;
    const type: string = prod["supafleet:workers"][0].serverType;
    const memory = SERVER_TYPES[type as keyof typeof SERVER_TYPES]!.memoryMiB;
    writeFileSync(join(work, "Pulumi.crowded.yaml"), stringify({ config: crowded(projectsThatFit(memory) + 1 - onW1(prod).length) }));
    const r = spawnSync(process.execPath, [join(ROOT, "node_modules/tsx/dist/cli.mjs"), join(ROOT, "scripts/plan.ts"), "--stack", "crowded", "--out", join(work, "out")], {
      cwd: work,
      encoding: "utf8",
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("Pulumi.crowded.yaml has 1 problem; nothing was deployed.");
    expect(r.stderr).toContain(`workers[0].serverType: ${type} has ${memory} MiB but its ${projectsThatFit(memory) + 1} projects (`);
    expect(r.stderr).toContain(`(${PROJECT_MEMORY_MIB} MiB each + ${WORKER_RESERVED_MIB} MiB reserved); it fits ${projectsThatFit(memory)}`);
    expect(existsSync(join(work, "out/crowded"))).toBe(false);
  });

  it("the README's worked example: kita fits on prod's w2, and its quoted refusal is what a cx33 would get", () => {
    const withKita = (serverType: string): Doc => {
      const c = clone(stackDoc("prod")) as Doc;
      c["supafleet:workers"][1].serverType = serverType;
      c["supafleet:tenants"].push(kitaTenant());
      return c;
    };
    expect((stackDoc("prod") as Doc)["supafleet:workers"][1]).toMatchObject({ name: "w2", serverType: "cx43" });
    expect(check(withKita("cx43")).issues).toEqual([]);
    const [issue, ...more] = check(withKita("cx33")).issues;
    expect(more).toEqual([]);
    const quoted = /`(workers\[1\]\.serverType: [^`]*)`/.exec(readFileSync(join(ROOT, "README.md"), "utf8").replace(/\s+/g, " "));
    expect(quoted?.[1]).toBe(`${issue!.path}: ${issue!.message}`);
  });

  it("the committed stacks fit", () => {
    for (const stack of ["staging", "prod"]) expect(check(stackDoc(stack)).issues, stack).toEqual([]);
  });
});
