import type { Outcome } from "../result";

interface Heartbeat {
  status: number;
  time: string;
  msg?: string;
}

export interface KumaHeartbeats {
  heartbeatList: Record<string, Heartbeat[]>;
}

export interface KumaStatusPage {
  publicGroupList: { name: string; monitorList: { id: number; name: string }[] }[];
}

const STATUS: Record<number, string> = { 0: "down", 1: "up", 2: "pending", 3: "maintenance" };

/** Every monitor the page lists must be up by its latest heartbeat; anything else is named. */
export function kumaVerdict(slug: string, page: KumaStatusPage, beats: KumaHeartbeats): Outcome {
  const monitors = page.publicGroupList.flatMap((g) => g.monitorList);
  if (monitors.length === 0) return { ok: false, detail: `${slug}: the status page lists no monitors` };
  const bad: string[] = [];
  for (const m of monitors) {
    const list = beats.heartbeatList[String(m.id)] ?? [];
    // Kuma sends them oldest first; sorting by time does not rely on it.
    const latest = [...list].sort((x, y) => (x.time < y.time ? -1 : x.time > y.time ? 1 : 0)).at(-1);
    if (!latest) bad.push(`${m.name}: no heartbeat yet`);
    else if (latest.status !== 1) bad.push(`${m.name}: ${STATUS[latest.status] ?? `status ${latest.status}`}${latest.msg ? ` (${latest.msg})` : ""}`);
  }
  if (bad.length > 0) return { ok: false, detail: `${slug}: ${bad.join("; ")}` };
  return { ok: true, detail: `${slug}: all ${monitors.length} monitors up` };
}

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  return res.json();
}

export async function checkKuma(kumaUrl: string, slug: string): Promise<Outcome> {
  const base = kumaUrl.replace(/\/+$/, "");
  const s = encodeURIComponent(slug);
  const [page, beats] = await Promise.all([getJson(`${base}/api/status-page/${s}`), getJson(`${base}/api/status-page/heartbeat/${s}`)]);
  return kumaVerdict(slug, page as KumaStatusPage, beats as KumaHeartbeats);
}
