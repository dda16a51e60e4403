/** A health agent's report, as health-agent.sh POSTs it after each run. */
export interface HealthReport {
  readonly worker: string;
  readonly at: number;
  readonly interval: number;
  readonly ok: boolean;
  readonly problems: readonly string[];
  readonly projects: Readonly<Record<string, { readonly ok: boolean; readonly problems: readonly string[] }>>;
  readonly disk?: { readonly usedPct: number };
  readonly memory?: { readonly availablePct: number };
}

export interface ReceivedReport {
  readonly report: HealthReport;
  /** When the console received it (unix ms): the console's clock, not the worker's, decides "silent". */
  readonly receivedAt: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string");
const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** The report, or a plain sentence saying why it is not one. */
export function parseReport(body: unknown): HealthReport | string {
  if (!isObject(body)) return "a report is a JSON object";
  const { worker, at, interval, ok, problems, projects, disk, memory } = body;
  if (typeof worker !== "string" || worker === "") return 'a report names its "worker"';
  if (!isNumber(at) || !isNumber(interval) || interval <= 0) return 'a report has numbers "at" and "interval"';
  if (typeof ok !== "boolean" || !isStrings(problems)) return 'a report has "ok" and a list of "problems"';
  if (!isObject(projects) || !Object.values(projects).every((p) => isObject(p) && typeof p.ok === "boolean" && isStrings(p.problems))) return 'a report\'s "projects" map each project to "ok" and "problems"';
  if (disk !== undefined && !(isObject(disk) && isNumber(disk.usedPct))) return 'a report\'s "disk" has "usedPct"';
  if (memory !== undefined && !(isObject(memory) && isNumber(memory.availablePct))) return 'a report\'s "memory" has "availablePct"';
  return body as unknown as HealthReport;
}

/** The last report of each worker, kept in memory: after a restart every agent reports again within a minute. */
export class ReportBook {
  private readonly last = new Map<string, ReceivedReport>();

  record(report: HealthReport, now = Date.now()): void {
    this.last.set(report.worker, { report, receivedAt: now });
  }

  lastOf(worker: string): ReceivedReport | undefined {
    return this.last.get(worker);
  }
}

/** "::ffff:10.100.0.2", as a dual-stack socket names an IPv4 peer, is 10.100.0.2. */
export const peerAddress = (remote: string | undefined): string => (remote ?? "").replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, "");
