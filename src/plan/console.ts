import type { FleetConfig } from "../config/schema";
import { CONSOLE_PORT, consoleFleetView, type ConsoleFleetInput } from "../console/fleetView";
import type { ConsolePlan } from "./types";

/** The console, when the stack file enables it; its hostname is behind Access like n8n's. */
export function planConsole(cfg: FleetConfig, hostname: string | undefined, fleet: ConsoleFleetInput): ConsolePlan | undefined {
  if (!cfg.console.enabled || hostname === undefined) return undefined;
  // validateFleet refuses an enabled console without a team name; this keeps the type honest.
  const teamName = cfg.cloudflare.teamName;
  if (teamName === undefined) throw new Error("console.enabled needs cloudflare.teamName");
  return {
    hostname,
    listen: { address: fleet.hub, port: CONSOLE_PORT },
    reportUrl: `http://${fleet.hub}:${CONSOLE_PORT}/api/reports`,
    teamName,
    fleet: consoleFleetView(fleet),
  };
}
