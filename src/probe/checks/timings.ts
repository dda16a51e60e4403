import type { Outcome } from "../result";

export interface HealthOptions {
  /** When `pulumi up` started (epoch ms); the probe's own start when not given. */
  since: number;
  intervalMs: number;
  limitMs: number;
}

const restRoot = (apiUrl: string): string => `${apiUrl.replace(/\/+$/, "")}/rest/v1/`;

async function restStatus(apiUrl: string, anonKey: string): Promise<number> {
  const res = await fetch(restRoot(apiUrl), { headers: { apikey: anonKey, authorization: `Bearer ${anonKey}` }, signal: AbortSignal.timeout(10_000) });
  await res.body?.cancel();
  return res.status;
}

const seconds = (ms: number): string => (ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`);

/** Polls PostgREST through Kong and the tunnel until it answers 200; ms is then the time since `since`. */
export async function waitHealthy(apiUrl: string, anonKey: string, opts: HealthOptions): Promise<Outcome & { elapsedMs: number }> {
  const start = Date.now();
  let last = "no answer yet";
  for (;;) {
    try {
      const status = await restStatus(apiUrl, anonKey);
      if (status === 200) {
        const elapsedMs = Date.now() - opts.since;
        return { ok: true, elapsedMs, detail: `/rest/v1/ answered 200, ${seconds(elapsedMs)} after ${opts.since < start ? "the start given by --since" : "the probe started"}` };
      }
      last = `answered ${status}`;
    } catch (err) {
      last = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    }
    if (Date.now() - start + opts.intervalMs > opts.limitMs) {
      return { ok: false, elapsedMs: Date.now() - opts.since, detail: `not healthy after ${seconds(Date.now() - start)} of polling: ${last}` };
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs));
  }
}

/** Nearest-rank percentile of ascending values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Sequential round trips through the tunnel once healthy: what a user feels, not the server's time. */
export async function measureLatency(apiUrl: string, anonKey: string, n = 20): Promise<Outcome> {
  const times: number[] = [];
  const bad: string[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    try {
      const status = await restStatus(apiUrl, anonKey);
      if (status !== 200) bad.push(String(status));
    } catch (err) {
      bad.push(err instanceof Error ? err.message : String(err));
    }
    times.push(performance.now() - start);
  }
  times.sort((x, y) => x - y);
  const summary = `median ${Math.round(percentile(times, 50))} ms, p95 ${Math.round(percentile(times, 95))} ms over ${n} requests`;
  if (bad.length > 0) return { ok: false, detail: `${summary}; ${bad.length} not 200: ${[...new Set(bad)].join(", ")}` };
  return { ok: true, detail: summary };
}
