import type { ConfigIssue } from "./issues";
import { STUDIOS_DEFAULT, type FleetConfig, type ProjectConfig } from "./schema";
import { SERVER_TYPES } from "../model/serverTypes";
import { workerServices } from "../model/projectServices";
import { WORKER_RESERVED_MIB, projectBudgetMiB } from "../model/sizing";
import { MASTER_RESERVED_MIB, STUDIO_ON_MASTER_MIB, masterMemoryFor, studiosThatFit } from "../model/masterSizing";

interface Placed {
  readonly project: ProjectConfig;
  readonly path: string;
}

const budget = (p: ProjectConfig): number => projectBudgetMiB(workerServices(p));

/**
 * Every worker holds the reservations of the services its projects run, beside its own reserve
 * (docs/sizing.md); a dedicated worker holds its one project.
 */
export function checkWorkerMemory(cfg: Partial<FleetConfig>, projects: readonly Placed[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const workers = cfg.workers ?? [];
  for (const p of projects) {
    const placement = p.project.placement;
    if (!("dedicated" in placement)) continue;
    const type = SERVER_TYPES[placement.dedicated.serverType];
    const own = budget(p.project);
    if (type !== undefined && own + WORKER_RESERVED_MIB > type.memoryMiB) {
      issues.push({
        path: `${p.path}.placement.dedicated.serverType`,
        message: `${placement.dedicated.serverType} has ${type.memoryMiB} MiB, less than the project needs (${own} MiB + ${WORKER_RESERVED_MIB} MiB reserved)`,
      });
    }
  }
  workers.forEach((w, i) => {
    const type = SERVER_TYPES[w.serverType];
    const placed = projects.filter((p) => "worker" in p.project.placement && p.project.placement.worker === w.name);
    if (type === undefined || placed.length === 0) return;
    const budgets = placed.map((p) => budget(p.project));
    const each = placed.map((p, n) => `${p.project.name} ${budgets[n]}`);
    const need = budgets.reduce((sum, b) => sum + b, 0) + WORKER_RESERVED_MIB;
    if (need > type.memoryMiB) {
      issues.push({
        path: `workers[${i}].serverType`,
        message: `${w.serverType} has ${type.memoryMiB} MiB but its ${placed.length} projects need ${need} MiB (${each.join(" + ")} + ${WORKER_RESERVED_MIB} reserved); move a project, leave out services it does not use, or choose a larger type`,
      });
    }
  });
  return issues;
}

/** The master holds as many Studios at once as the stack file lets run (studios.maxRunning). */
export function checkMasterMemory(cfg: Partial<FleetConfig>, projects: readonly Placed[]): ConfigIssue[] {
  const typeName = cfg.hetzner?.masterServerType;
  const type = typeName !== undefined ? SERVER_TYPES[typeName] : undefined;
  const maxRunning = cfg.studios?.maxRunning ?? STUDIOS_DEFAULT.maxRunning;
  if (type === undefined || !projects.some((p) => p.project.studio === "master")) return [];
  if (masterMemoryFor(maxRunning) <= type.memoryMiB) return [];
  return [
    {
      path: "hetzner.masterServerType",
      message: `${typeName} has ${type.memoryMiB} MiB but ${maxRunning} Studios at once need ${masterMemoryFor(maxRunning)} MiB (${maxRunning} × ${STUDIO_ON_MASTER_MIB} + ${MASTER_RESERVED_MIB} for the master's own services); it holds ${studiosThatFit(type.memoryMiB)}: lower studios.maxRunning or choose a larger type`,
    },
  ];
}
