import { studioPorts } from "../../src/model/ports";
import { describe, expect, it } from "vitest";
import { loadFleetConfig } from "../../src/config/load";
import { planFleet } from "../../src/plan/planFleet";
import type { FleetPlan } from "../../src/plan/types";
import { clone, stackDoc, validatorInput, withDeclaredSecrets } from "../helpers/stacks";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = Record<string, any>;

/** The plan of a stack document, as main.ts makes it: validated config in, data out; no Pulumi runs here. */
const planOf = (doc: Doc, stack = "prod", secretsSet: string[] = []): FleetPlan => planFleet(stack, loadFleetConfig(withDeclaredSecrets(validatorInput(doc, stack))).config, new Set(secretsSet));
const prodDoc = (): Doc => clone(stackDoc("prod")) as Doc;
const project = (doc: Doc, name: string): any => doc["supafleet:tenants"].flatMap((t: any) => t.projects ?? []).find((p: any) => p.name === name);

describe("planFleet: placement", () => {
  const plan = planOf(prodDoc());

  it("puts each project on the worker its placement names, with ports from its slot", () => {
    expect(plan.projects.map((p) => [p.name, p.worker.name, p.slot, p.ports.gateway])).toEqual(
      plan.projects.map((p) => [p.name, p.worker.name, p.slot, 20000 + p.slot * 10]),
    );
    expect(Object.fromEntries(plan.projects.map((p) => [p.name, p.worker.name]))).toMatchObject({ ops: "w1", registry: "w1", smarteros: "w2", "smarteros-chat": "w2", praxis: "w3" });
  });

  it("gives a dedicated project its own worker, after the shared ones, and pooled tenants to their pool's project", () => {
    const doc = prodDoc();
    doc["supafleet:tenants"].find((t: any) => t.slug === "praxis-mueller").isolation = "dedicated";
    project(doc, "praxis").placement = { dedicated: { serverType: "cx23", address: "10.100.0.40" } };
    const p = planOf(doc);
    const praxis = p.projects.find((x) => x.name === "praxis")!;
    expect(praxis.worker).toMatchObject({ name: "praxis-dedicated", address: "10.100.0.40", dedicatedTo: "praxis" });
    // Dedicated workers follow the shared ones in project order: praxis comes before prod's surgir.
    expect(p.workers.map((w) => w.name)).toEqual(["w1", "w2", "w3", "praxis-dedicated", "surgir-dedicated"]);
    expect(p.workers.slice(0, 3).map((w) => w.dedicatedTo)).toEqual([undefined, undefined, undefined]);
    expect(p.projects.find((x) => x.name === "ops")!.pooledTenants.map((t) => t.slug)).toEqual(["baeckerei-koch", "kanzlei-weber"]);
  });

  it("gives operators on the mesh their database grants on the worker of each project they may reach, and no one else", () => {
    const ops = plan.projects.find((p) => p.name === "ops")!;
    expect(plan.databaseGrants).toEqual(Object.fromEntries(plan.workers.map((w) => [w.name, w.name === "w1" ? [{ operator: "ana", address: "10.100.0.250", port: ops.ports.db }] : []])));
  });

  it("holds no raw config and no secret value", () => {
    expect(Object.keys(plan)).not.toContain("config");
    const text = JSON.stringify(plan);
    for (const secretish of ["secure:", "password\":", "token\":\""]) expect(text).not.toContain(secretish);
  });
});

describe("planFleet: moves", () => {
  it("a project whose placement changed and that names movedFrom moves from that worker; the ingress then waits for the moves", () => {
    const doc = prodDoc();
    Object.assign(project(doc, "registry"), { placement: { worker: "w2" }, movedFrom: "w1" });
    const p = planOf(doc);
    const registry = p.projects.find((x) => x.name === "registry")!;
    expect([registry.worker.name, registry.movedFrom?.name]).toEqual(["w2", "w1"]);
    expect(p.projects.filter((x) => x.movedFrom !== undefined).map((x) => x.name)).toEqual(["registry"]);
    expect(p.edge.waitsForMoves).toBe(true);
    // Its backup job now runs on the new worker, and its hostnames point there.
    expect(p.backups.jobs.find((j) => j.job === "registry")).toMatchObject({ kind: "project", worker: "w2" });
    // Its Studio stays on the master's loopback: only its API moves.
    expect(p.edge.rules.filter((r) => r.owner === "registry").map((r) => r.service)).toEqual([`http://127.0.0.1:${studioPorts(registry.slot).listen}`, `http://10.100.0.3:${registry.ports.gateway}`]);
  });

  it("without a move, nothing waits", () => {
    expect(planOf(prodDoc()).edge.waitsForMoves).toBe(false);
  });
});

describe("planFleet: backup jobs", () => {
  it("runs a job per project in project order, keeps retired ones with their restic round, and the master's last", () => {
    const doc = prodDoc();
    doc["supafleet:backups"].retired = ["oldshop", { name: "oldcrm", rotate: { restic: 2 } }];
    const jobs = planOf(doc).backups.jobs;
    expect(jobs.map((j) => [j.kind, j.job])).toEqual([
      ...planOf(doc).projects.map((p) => ["project", p.name]),
      ["retired", "oldshop"],
      ["retired", "oldcrm"],
      ["master", "master"],
    ]);
    expect(jobs.filter((j) => j.kind === "retired").map((j) => j.resticRotation)).toEqual([0, 2]);
    const oldcrm = jobs.find((j) => j.job === "oldcrm")!;
    expect(oldcrm).toMatchObject({ dbContainer: "oldcrm-db", vaultKeyPath: "/var/lib/docker/volumes/oldcrm-db-config/_data" });
  });

  it("carries a project's restic rotation counter into its job", () => {
    const doc = prodDoc();
    project(doc, "smarteros").rotate = { restic: 3 };
    expect(planOf(doc).backups.jobs.find((j) => j.job === "smarteros")!.resticRotation).toBe(3);
  });

  it("seeds a project restored from another stack with every pack's anonymising hook, and one of this stack without", () => {
    const doc = prodDoc();
    project(doc, "smarteros-chat").restoreFrom = { project: "ops", snapshot: "latest" };
    project(doc, "praxis").restoreFrom = { project: "ops", stack: "staging", snapshot: "latest" };
    const seeds = planOf(doc).backups.seeds;
    expect(seeds.map((s) => [s.project, s.from.project, s.anonymise !== undefined])).toEqual([
      ["smarteros-chat", "ops", false],
      ["praxis", "ops", true],
    ]);
  });

  it("says ntfy has a token only when its secure key is set, and never holds the token", () => {
    const doc = prodDoc();
    if (doc["supafleet:alerting"]?.ntfy === undefined) doc["supafleet:alerting"] = { ...doc["supafleet:alerting"], ntfy: { server: "https://ntfy.sh", topic: "fleet" } };
    expect(planOf(doc).backups.alerting.ntfy?.token).toBe(false);
    expect(planOf(doc, "prod", ["supafleet:ntfyToken"]).backups.alerting.ntfy?.token).toBe(true);
  });
});

describe("planFleet: key rounds", () => {
  it("a node without rotation settings is on round 0 with nothing to retire", () => {
    const p = planOf(prodDoc());
    expect(p.workers.map((w) => w.wireguardKey)).toEqual(p.workers.map(() => ({ round: 0, previousRetired: true })));
    expect(p.master.hubKey).toEqual({ round: 0, previousRetired: true });
  });

  it("takes each worker's, the hub's and the deploy key's round from the stack file", () => {
    const doc = prodDoc();
    doc["supafleet:workers"][1].wireguard = { keyRound: 2, previousKeyRetired: false };
    doc["supafleet:deploy"] = { ...doc["supafleet:deploy"], keyRound: 4, previousKeyRetired: true };
    const p = planOf(doc);
    expect(p.workers.map((w) => w.wireguardKey.round)).toEqual(p.workers.map((w) => (w.name === "w2" ? 2 : 0)));
    expect(p.workers.find((w) => w.name === "w2")!.wireguardKey.previousRetired).toBe(false);
    expect(p.master.deployKey).toEqual({ round: 4, previousRetired: true });
    // The hub's own rotation, once no worker's is under way.
    const hub = prodDoc();
    hub["supafleet:wireguard"].hubRotation = { keyRound: 1, previousKeyRetired: false };
    expect(planOf(hub).master.hubKey).toEqual({ round: 1, previousRetired: false });
  });
});
