import type { ConfigIssue } from "../config/issues";
import type { FleetConfig } from "../config/schema";
import { realtimeTableIssues } from "../rls/realtimeIssues";

/**
 * The checks of a project's settings that need more than the stack file: the
 * schema packs' tables. They run on a config the schema accepted, before
 * anything is planned, and their problems read like any other config problem.
 */
export function projectSettingIssues(cfg: FleetConfig): ConfigIssue[] {
  return cfg.tenants.flatMap((tenant, t) => tenant.projects.flatMap((project, p) => realtimeTableIssues(project, `tenants[${t}].projects[${p}]`)));
}
