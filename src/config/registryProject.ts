import type { ConfigIssue } from "./issues";
import type { FleetConfig, ProjectConfig } from "./schema";

/**
 * `automations.registryProject` names the project whose outbox n8n drains for
 * sign-ups and expired trials: it must exist and hold the tenant-registry pack.
 */
export function checkRegistryProject(cfg: Partial<FleetConfig>, projects: readonly { readonly project: ProjectConfig; readonly path: string }[]): ConfigIssue[] {
  const name = cfg.automations?.registryProject;
  // When tenants did not parse, their own errors say why; a missing project here would only echo them.
  if (name === undefined || cfg.tenants === undefined) return [];
  const found = projects.find((p) => p.project.name === name);
  if (found === undefined) return [{ path: "automations.registryProject", message: `no project is named "${name}"` }];
  if (!found.project.schemaPacks.includes("tenant-registry")) {
    return [{ path: "automations.registryProject", message: `project ${name} lacks the tenant-registry schema pack, whose outbox holds the sign-ups and expired trials (${found.path}.schemaPacks)` }];
  }
  return [];
}
