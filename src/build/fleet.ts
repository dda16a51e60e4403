import type { Automations } from "../../components/Automations";
import type { BackupSchedule } from "../../components/BackupSchedule";
import type { BackupVault } from "../../components/BackupVault";
import type { MasterNode } from "../../components/MasterNode";
import type { OperatorConsole } from "../../components/OperatorConsole";
import type { Monitoring } from "../../components/Monitoring";
import type { RlsPolicySet } from "../../components/RlsPolicySet";
import type { RmmNode } from "../../components/RmmNode";
import type { SupabaseProject } from "../../components/SupabaseProject";
import type { StudioSet } from "../../components/StudioSet";
import type { TunnelIngress } from "../../components/TunnelIngress";
import type { CustomDomains } from "../../components/CustomDomains";
import type { WorkerNode } from "../../components/WorkerNode";
import type { FleetComponent } from "../resources/component";
import { deferred } from "../resources/deferred";
import { releaseFile, type InfraRelease } from "../resources/infraRelease";
import type { FleetPlan } from "../plan/types";
import type * as pulumi from "@pulumi/pulumi";
import { buildBackups, buildDrills, buildMasterBackup } from "./backups";
import { buildConsole } from "./console";
import { buildCustomDomains } from "./customDomains";
import { buildNodes } from "./nodes";
import { buildAutomations, buildEdge, buildMonitoring } from "./operations";
import { buildBuckets, buildMoves, buildPolicySets, buildProjects, buildSeeds } from "./projects";
import { buildStudios } from "./studios";
import type { FleetSecrets } from "./secrets";
import type { StackReferences } from "./stackReferences";

/** Every component of one environment, by role. */
export interface Fleet {
  readonly plan: FleetPlan;
  readonly master: MasterNode;
  readonly workers: ReadonlyMap<string, WorkerNode>;
  readonly projects: ReadonlyMap<string, SupabaseProject>;
  readonly studios: StudioSet;
  readonly tunnel: TunnelIngress;
  /** Clients' hostnames in their own zones, when a project has one. */
  readonly customDomains?: CustomDomains;
  readonly vault: BackupVault;
  readonly backups: ReadonlyMap<string, BackupSchedule>;
  readonly policySets: ReadonlyMap<string, RlsPolicySet>;
  readonly monitoring: Monitoring;
  readonly automations: Automations;
  /** The operator console, when enabled. */
  readonly console?: OperatorConsole;
  readonly rmm?: RmmNode;
  /** The commit this run applies, for the hosts and the stack outputs. */
  readonly release: InfraRelease;
  readonly components: readonly FleetComponent[];
}

/**
 * Creates the environment's components from its plan, with the secrets read
 * for it. Logical names come from config names only (never list positions), so
 * adding or removing one tenant, project or worker leaves every other
 * resource's identity untouched.
 */
export function buildFleet(plan: FleetPlan, secrets: FleetSecrets, release: InfraRelease): Fleet {
  const nodes = buildNodes(plan, { env: plan.env, protect: plan.protect, location: plan.hosts.location, image: plan.hosts.image, releaseFile: releaseFile(release, plan.env) });
  const projects = buildProjects(plan, nodes, secrets);
  const studios = buildStudios(plan, nodes, projects);
  // The ingress waits for every move's restore, known once the moves exist, and for the master's Studios.
  const restoredMoves = deferred<pulumi.Resource[]>();
  const tunnel = buildEdge(plan, nodes, plan.edge.waitsForMoves ? restoredMoves.output.apply((moved) => [...moved, ...studios.installed]) : studios.installed, secrets);
  const customDomains = buildCustomDomains(plan, tunnel);
  const backups = buildBackups(plan, nodes, projects, secrets);
  const moves = buildMoves(plan, nodes, projects, backups);
  if (plan.edge.waitsForMoves) restoredMoves.resolve(moves.map((m) => m.restored));
  buildMasterBackup(plan, nodes, projects, backups);
  const refs: StackReferences = new Map();
  const seeds = buildSeeds(plan, nodes, projects, backups, refs);
  const drills = buildDrills(plan, nodes, backups, secrets, refs);
  const policySets = buildPolicySets(plan, nodes, projects, seeds);
  const buckets = buildBuckets(plan, nodes, projects, seeds);
  const monitoring = buildMonitoring(plan, nodes, projects, backups, tunnel);
  const automations = buildAutomations(plan, nodes, projects, backups, monitoring, secrets);
  const operatorConsole = buildConsole(plan, nodes, tunnel, release);

  const components: FleetComponent[] = [
    nodes.master,
    ...nodes.workers.values(),
    ...(nodes.rmm !== undefined ? [nodes.rmm] : []),
    ...projects.projects.values(),
    studios,
    tunnel,
    ...(customDomains !== undefined ? [customDomains] : []),
    backups.vault,
    ...backups.schedules.values(),
    ...seeds.values(),
    ...moves,
    ...drills,
    ...policySets.values(),
    ...buckets.values(),
    monitoring,
    automations,
    ...(operatorConsole !== undefined ? [operatorConsole.console, ...operatorConsole.agents.values()] : []),
  ];
  return {
    plan,
    master: nodes.master,
    workers: nodes.workers,
    ...(nodes.rmm !== undefined ? { rmm: nodes.rmm } : {}),
    projects: projects.projects,
    studios,
    tunnel,
    ...(customDomains !== undefined ? { customDomains } : {}),
    vault: backups.vault,
    backups: backups.schedules,
    policySets,
    monitoring,
    automations,
    ...(operatorConsole !== undefined ? { console: operatorConsole.console } : {}),
    release,
    components,
  };
}
