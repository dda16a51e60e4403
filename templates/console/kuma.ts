import { reasonOf } from "./reason";

/** A monitor as Kuma's status page lists it, with its latest heartbeat. */
export interface KumaMonitorState {
  readonly id: string;
  readonly name: string;
  readonly status: "up" | "down" | "pending" | "maintenance" | "unknown";
  readonly message?: string;
}

export type KumaReading = { readonly reachable: true; readonly monitors: readonly KumaMonitorState[] } | { readonly reachable: false; readonly error: string };

const STATUS = ["down", "up", "pending", "maintenance"] as const;

interface StatusPageJson {
  publicGroupList?: { monitorList?: { id: number; name: string }[] }[];
}
interface HeartbeatJson {
  heartbeatList?: Record<string, { status: number; msg?: string }[]>;
}

async function getJson(url: string, timeoutMs: number): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return res.json();
}

/**
 * Reads the fleet status page's JSON from Kuma: which monitors it lists, and
 * the latest heartbeat of each. Kuma not answering is a reading too, shown on
 * the page; it never stops the console.
 */
export async function readKuma(kumaUrl: string, slug: string, timeoutMs = 5000): Promise<KumaReading> {
  const base = kumaUrl.replace(/\/+$/, "");
  try {
    const [page, beats] = (await Promise.all([getJson(`${base}/api/status-page/${slug}`, timeoutMs), getJson(`${base}/api/status-page/heartbeat/${slug}`, timeoutMs)])) as [StatusPageJson, HeartbeatJson];
    const monitors = (page.publicGroupList ?? []).flatMap((g) => g.monitorList ?? []);
    return {
      reachable: true,
      monitors: monitors.map((m) => {
        const last = beats.heartbeatList?.[String(m.id)]?.at(-1);
        return { id: String(m.id), name: m.name, status: last === undefined ? "unknown" : (STATUS[last.status] ?? "unknown"), ...(last?.msg ? { message: last.msg } : {}) };
      }),
    };
  } catch (e) {
    return { reachable: false, error: `Uptime Kuma at ${base} is unreachable (${reasonOf(e)})` };
  }
}

/** The monitors a project names (by Kuma id or by name, as on the fleet status page). */
export function monitorsOf(reading: KumaReading, names: readonly string[]): KumaMonitorState[] {
  if (!reading.reachable) return [];
  return reading.monitors.filter((m) => names.includes(m.id) || names.includes(m.name));
}
