import type { ConfigIssue } from "./issues";
import type { FleetConfig } from "./schema";
import { DOCKER_ADDRESS_POOLS } from "../model/net";
import { overlaps, wholeInternetCovered } from "../model/ranges";
import { CX_LOCATIONS, SERVER_TYPES } from "../model/serverTypes";

/** Stacks whose names start with this are the e2e workflow's, made and destroyed in one run (docs/e2e.md). */
export const E2E_STACK_PREFIX = "e2e-";

/** The master runs cloudflared, Uptime Kuma (512 MiB), n8n (1 GiB) and the webhook gate beside the OS. */
export const MASTER_MIN_MIB = 4096;

/**
 * Rules about exposure and the platform that no single section can check:
 * prod's protection, ranges that add up to the internet, WireGuard keys,
 * Docker's address pools, and what Hetzner sells where.
 */
export function checkHardening(cfg: Partial<FleetConfig>, stack: string | undefined): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  // A refused section is absent from cfg, while one left out of the file is there as undefined (load.ts).
  if (stack === "prod" && cfg.protect === false && "unprotectedReason" in cfg && cfg.unprotectedReason === undefined) {
    issues.push({ path: "protect", message: "prod must set protect: true; to run prod unprotected on purpose, say why in supafleet:unprotectedReason" });
  }
  if (cfg.backups?.disposable === true && (stack === undefined || !stack.startsWith(E2E_STACK_PREFIX) || cfg.protect === true)) {
    issues.push({ path: "backups.disposable", message: `only a throwaway stack (named ${E2E_STACK_PREFIX}…, protect: false) may lose its backups with it` });
  }
  if (cfg.operators !== undefined) {
    const ranges = cfg.operators.flatMap((o) => o.sourceRanges);
    for (const family of wholeInternetCovered(ranges)) {
      issues.push({ path: "operators", message: `the operators' sourceRanges together cover the whole ${family} internet; SSH must come from the operators' own ranges` });
    }
    const keys = cfg.operators.flatMap((o, i) => (o.wireguard?.publicKey !== undefined ? [{ key: o.wireguard.publicKey, path: `operators[${i}].wireguard.publicKey` }] : []));
    keys.forEach((k, n) => {
      const first = keys.findIndex((x) => x.key === k.key);
      if (first !== n) issues.push({ path: k.path, message: `is the same WireGuard key as ${keys[first]!.path}; every peer needs its own` });
    });
  }
  for (const family of wholeInternetCovered(cfg.access?.webhookSources ?? [])) {
    issues.push({ path: "access.webhookSources", message: `together cover the whole ${family} internet; list the callers' own ranges` });
  }
  // The schema accepted only a parseable subnet (meshSubnet.ts).
  if (cfg.wireguard !== undefined) {
    for (const pool of DOCKER_ADDRESS_POOLS) {
      if (overlaps(cfg.wireguard.subnet, pool)) issues.push({ path: "wireguard.subnet", message: `overlaps ${pool}, which Docker uses on every node; pick a range outside 172.16.0.0/12` });
    }
  }
  issues.push(...checkServerTypes(cfg));
  return issues;
}

/** The cx types are sold only in the EU; the master must hold what runs on it. */
function checkServerTypes(cfg: Partial<FleetConfig>): ConfigIssue[] {
  const location = cfg.hetzner?.location;
  const issues: ConfigIssue[] = [];
  const servers: { type: string; path: string }[] = [
    ...(cfg.hetzner !== undefined ? [{ type: cfg.hetzner.masterServerType, path: "hetzner.masterServerType" }] : []),
    ...(cfg.workers ?? []).map((w, i) => ({ type: w.serverType, path: `workers[${i}].serverType` })),
    ...(cfg.tenants ?? []).flatMap((t, i) =>
      t.projects.flatMap((p, j) => ("dedicated" in p.placement ? [{ type: p.placement.dedicated.serverType, path: `tenants[${i}].projects[${j}].placement.dedicated.serverType` }] : [])),
    ),
    ...(cfg.rmm !== undefined ? [{ type: cfg.rmm.serverType, path: "rmm.serverType" }] : []),
  ];
  if (location !== undefined) {
    for (const s of servers) {
      if (s.type.startsWith("cx") && !CX_LOCATIONS.has(location)) {
        issues.push({ path: s.path, message: `${s.type} is sold only in ${[...CX_LOCATIONS].join(", ")}, not in ${location} (hetzner.location); pick a cpx or ccx type` });
      }
    }
  }
  const master = cfg.hetzner !== undefined ? SERVER_TYPES[cfg.hetzner.masterServerType] : undefined;
  if (master !== undefined && master.memoryMiB < MASTER_MIN_MIB) {
    issues.push({ path: "hetzner.masterServerType", message: `${cfg.hetzner!.masterServerType} has ${master.memoryMiB} MiB; the master needs at least ${MASTER_MIN_MIB} MiB for cloudflared, Uptime Kuma and n8n` });
  }
  return issues;
}
