import { StudioSet } from "../../components/StudioSet";
import type { FleetPlan } from "../plan/types";
import type { Nodes, Projects } from "./parts";

/** The master's Studios: one for each project whose Studio runs there. */
export function buildStudios(plan: FleetPlan, nodes: Nodes, projects: Projects): StudioSet {
  return new StudioSet("studios", {
    ssh: nodes.master.ssh,
    masterReady: nodes.master.ready,
    maxRunning: plan.studios.maxRunning,
    idleMinutes: plan.studios.idleMinutes,
    studios: plan.projects
      .filter((p) => p.studio === "master")
      .map((p) => {
        const project = projects.projects.get(p.name)!;
        return {
          project: p,
          apiUrl: project.apiUrl,
          secrets: {
            postgresPassword: project.secrets.postgresPassword,
            jwtSecret: project.secrets.jwtSecret,
            pgMetaCryptoKey: project.secrets.pgMetaCryptoKey,
            anonKey: project.anonKey,
            serviceRoleKey: project.serviceRoleKey,
          },
        };
      }),
  });
}
