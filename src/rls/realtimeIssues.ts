import type { ConfigIssue } from "../config/issues";
import type { FleetConfig, ProjectConfig } from "../config/schema";
import { PACKS } from "./migrations";
import { publishable } from "./realtimeTables";

/** Each chosen table must be a publishable table of one of the project's packs, on a project that runs Realtime. */
export function realtimeTableIssues(project: ProjectConfig, path: string): ConfigIssue[] {
  const chosen = project.realtime?.tables;
  if (chosen === undefined) return [];
  const issues: ConfigIssue[] = [];
  if (chosen.length > 0 && !project.services.realtime) {
    issues.push({ path: `${path}.realtime.tables`, message: "the project runs no Realtime (services.realtime: false); leave realtime out, or turn the service on" });
  }
  const tables = new Map(project.schemaPacks.flatMap((p) => PACKS[p].tables.map((t) => [t.name, t] as const)));
  const candidates = [...tables.values()].filter(publishable).map((t) => t.name);
  chosen.forEach((name, i) => {
    const at = `${path}.realtime.tables[${i}]`;
    const table = tables.get(name);
    if (chosen.indexOf(name) !== i) issues.push({ path: at, message: `lists ${name} twice; list each table once` });
    else if (table === undefined) {
      issues.push({
        path: at,
        message:
          project.schemaPacks.length === 0
            ? `${name} is not a table of this project: it has no schema packs, so supafleet publishes nothing (publish your own tables in your migrations)`
            : `${name} is not a table of this project's schema packs (${project.schemaPacks.join(", ")}); publishable: ${candidates.join(", ") || "none"}`,
      });
    } else if (!publishable(table)) {
      issues.push({ path: at, message: `${name} cannot be published: Realtime sends whole rows, and only a tenant table whose every column its users may read is safe (publishable: ${candidates.join(", ") || "none"})` });
    }
  });
  return issues;
}

/** Every project's realtime.tables, on whatever tenants parsed: a check loadFleetConfig runs with the stack file's own. */
export function checkRealtimeTables(cfg: Partial<FleetConfig>): ConfigIssue[] {
  return (cfg.tenants ?? []).flatMap((tenant, t) => tenant.projects.flatMap((project, p) => realtimeTableIssues(project, `tenants[${t}].projects[${p}]`)));
}
