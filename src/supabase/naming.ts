import type { ServiceName } from "../model/services";

/**
 * Names on a worker are prefixed with the project, so two projects on one
 * worker never share a container, volume or network.
 */
export function containerName(project: string, service: ServiceName): string {
  return `${project}-${service}`;
}

export function networkName(project: string): string {
  return `${project}-net`;
}

export function volumeName(project: string, purpose: "db-data" | "db-config" | "storage" | "functions" | "deno-cache"): string {
  return `${project}-${purpose}`;
}
