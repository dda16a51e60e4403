import type * as pulumi from "@pulumi/pulumi";
import { ProjectBuckets } from "../../components/ProjectBuckets";
import { ProjectFunctions } from "../../components/ProjectFunctions";
import { ProjectMove } from "../../components/ProjectMove";
import { ProjectRegistry } from "../../components/ProjectRegistry";
import { ProjectSeed } from "../../components/ProjectSeed";
import { RlsPolicySet } from "../../components/RlsPolicySet";
import { SupabaseProject } from "../../components/SupabaseProject";
import type { BackupReader } from "../backup/seed";
import { deferred } from "../resources/deferred";
import type { FleetPlan, ProjectPlan, WorkerPlan } from "../plan/types";
import type { Backups, Nodes, Projects } from "./parts";
import type { FleetSecrets } from "./secrets";
import { readerFromStack, type StackReferences } from "./stackReferences";


export function buildProjects(plan: FleetPlan, nodes: Nodes, secrets: FleetSecrets): Projects {
  const deployAfter = new Map(plan.projects.map((p) => [p.name, deferred<pulumi.Resource[]>()]));
  const projects = new Map<string, SupabaseProject>();
  for (const p of plan.projects) {
    const after = deferred<pulumi.Resource[]>();
    const project = new SupabaseProject(p.name, {
      env: plan.env,
      project: p,
      ssh: nodes.master.ssh,
      workerReady: nodes.workers.get(p.worker.name)!.ready,
      smtpPassword: secrets.smtpPasswords.get(p.name)!,
      authSecrets: secrets.authSecrets.get(p.name) ?? { providers: {} },
      // With the team's name, cloudflared checks every Studio's Access JWT (components/TunnelIngress.ts).
      studioAccessChecked: plan.edge.teamName !== undefined,
      deployAfter: after.output,
    });
    // Its deploy also waits for its functions: the runtime it starts needs the router on the worker.
    const functions = p.services.includes("functions") ? new ProjectFunctions({ project: p, ssh: nodes.master.ssh, workerReady: nodes.workers.get(p.worker.name)!.ready }, { parent: project }) : undefined;
    after.resolve(deployAfter.get(p.name)!.output.apply((more) => (functions !== undefined ? [functions.deployed, ...more] : more)));
    // The offline plan writes its files with its project's.
    if (functions !== undefined) project.artifacts.push(...functions.artifacts);
    projects.set(p.name, project);
  }
  return { projects, deployAfter };
}

/** Projects moving to another worker: out of the old one, into the new one, then the old one cleaned up. */
export function buildMoves(plan: FleetPlan, nodes: Nodes, projects: Projects, backups: Backups): ProjectMove[] {
  const moves: ProjectMove[] = [];
  for (const p of plan.projects) {
    const schedule = backups.schedules.get(p.name)!;
    const after = projects.deployAfter.get(p.name)!;
    if (p.movedFrom === undefined) {
      after.resolve([schedule.subaccount]);
      continue;
    }
    const project = { ...p, movedFrom: p.movedFrom } as ProjectPlan & { readonly movedFrom: WorkerPlan };
    const move = new ProjectMove({ project, ssh: nodes.master.ssh, arrived: [projects.projects.get(p.name)!.deployed, schedule.enabled!] });
    after.resolve([schedule.subaccount, move.stoppedOnOldWorker]);
    moves.push(move);
  }
  return moves;
}

/** New projects whose data starts from another's backup; their migrations apply on top of it. */
export function buildSeeds(plan: FleetPlan, nodes: Nodes, projects: Projects, backups: Backups, refs: StackReferences): Map<string, ProjectSeed> {
  const seeds = new Map<string, ProjectSeed>();
  for (const s of plan.backups.seeds) {
    const p = plan.projects.find((x) => x.name === s.project)!;
    const reader: pulumi.Input<BackupReader> = s.from.stack === undefined ? backups.schedules.get(s.from.project)!.reader : readerFromStack(refs, s.from.stack, s.from.project);
    const time = s.from.time;
    seeds.set(
      p.name,
      new ProjectSeed({
        project: p,
        reader,
        snapshot: s.from.snapshot,
        ...(time !== undefined ? { time } : {}),
        sourcePaths: s.sourcePaths,
        paths: s.paths,
        vaultKeyPath: s.vaultKeyPath,
        ...(s.anonymise !== undefined ? { anonymise: s.anonymise } : {}),
        ssh: nodes.master.ssh,
        after: [projects.projects.get(p.name)!.deployed, nodes.workers.get(p.worker.name)!.backupTools],
      }),
    );
  }
  return seeds;
}

/** Each project's tenant data model, under its project: it lives and dies with it. */
export function buildPolicySets(plan: FleetPlan, nodes: Nodes, projects: Projects, seeds: ReadonlyMap<string, ProjectSeed>): Map<string, RlsPolicySet> {
  const policySets = new Map<string, RlsPolicySet>();
  for (const p of plan.projects.filter((m) => m.schemaPacks.length > 0)) {
    const seed = seeds.get(p.name);
    const project = projects.projects.get(p.name)!;
    const policySet = new RlsPolicySet({ project: p, ssh: nodes.master.ssh, after: [project.deployed, ...(seed !== undefined ? [seed.done] : [])] }, { parent: project });
    policySets.set(p.name, policySet);
    // Its registry's plans and base tenants, once the registry's tables exist; the offline plan writes the seed with the project's files.
    if (p.registry !== undefined) project.artifacts.push(...new ProjectRegistry({ project: { ...p, registry: p.registry }, ssh: nodes.master.ssh, after: [policySet] }, { parent: project }).artifacts);
  }
  return policySets;
}

/** Each Storage-running project's declared buckets, under its project, once it runs and its seed is in. */
export function buildBuckets(plan: FleetPlan, nodes: Nodes, projects: Projects, seeds: ReadonlyMap<string, ProjectSeed>): Map<string, ProjectBuckets> {
  const buckets = new Map<string, ProjectBuckets>();
  for (const p of plan.projects.filter((m) => m.services.includes("storage"))) {
    const seed = seeds.get(p.name);
    const project = projects.projects.get(p.name)!;
    buckets.set(p.name, new ProjectBuckets({ project: p, ssh: nodes.master.ssh, after: [project.deployed, ...(seed !== undefined ? [seed.done] : [])] }, { parent: project }));
  }
  return buckets;
}
