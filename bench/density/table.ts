import { SERVER_TYPES } from "../../src/model/serverTypes";
import { MASTER_RESERVED_MIB, STUDIO_ON_MASTER_MIB, masterMemoryFor, studiosThatFit } from "../../src/model/masterSizing";
import { API_ONLY_PROJECT_MIB, FULL_PROJECT_MIB, WORKER_RESERVED_MIB, projectsThatFit } from "../../src/model/sizing";

/** The budget per project before issue 25: every container's hard limit, Studio included, with the same reserve. */
export const BEFORE_ISSUE_25_MIB = 2432;

/**
 * How many projects fit each server type the stack file allows, as a worker, and how many Studios
 * at once as the master: computed from src/model (the same functions the placement check uses).
 */
export function densityTable(): string {
  const head = [
    `Per project: full ${FULL_PROJECT_MIB} MiB, API only ${API_ONLY_PROJECT_MIB} MiB; each worker keeps ${WORKER_RESERVED_MIB} MiB. Before issue 25: ${BEFORE_ISSUE_25_MIB} MiB per project, Studio included.`,
    "",
    "| type | memory | vCPU | arch | full projects | API-only projects | before issue 25 | Studios at once, as the master |",
    "|---|---:|---:|---|---:|---:|---:|---:|",
  ];
  const rows = Object.entries(SERVER_TYPES).map(([name, t]) =>
    `| ${name} | ${t.memoryMiB / 1024} GiB | ${t.vcpus} | ${t.arch} | ${projectsThatFit(t.memoryMiB, FULL_PROJECT_MIB)} | ${projectsThatFit(t.memoryMiB, API_ONLY_PROJECT_MIB)} | ${projectsThatFit(t.memoryMiB, BEFORE_ISSUE_25_MIB)} | ${studiosThatFit(t.memoryMiB)} |`,
  );
  return [...head, ...rows].join("\n");
}

/** The master's memory for N Studios at once, and the smallest type (by memory, then name) that holds it. */
export function masterTable(counts: readonly number[] = [1, 2, 3, 5, 10, 20]): string {
  const byMemory = Object.entries(SERVER_TYPES).sort(([a, x], [b, y]) => x.memoryMiB - y.memoryMiB || a.localeCompare(b));
  const rows = counts.map((n) => {
    const need = masterMemoryFor(n);
    const smallest = byMemory.find(([, t]) => t.memoryMiB >= need)?.[0] ?? "none";
    return `| ${n} | ${need} | ${smallest} |`;
  });
  return [
    `The master keeps ${MASTER_RESERVED_MIB} MiB for itself (its base, cloudflared, Uptime Kuma, n8n, the webhook gate and the operator console at their limits) and ${STUDIO_ON_MASTER_MIB} MiB for each Studio that may run at once (studios.maxRunning).`,
    "",
    "| Studios at once | master memory MiB | smallest type |",
    "|---:|---:|---|",
    ...rows,
  ].join("\n");
}
