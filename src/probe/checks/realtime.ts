import type { RealtimeChannel } from "@supabase/supabase-js";
import type { Outcome } from "../result";
import type { ProbeUser } from "./auth";

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms / 1000} s`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A subscribes to its tenant's new tickets, then opens one; the change must
 * come back over the websocket. Events are collected from the moment of
 * subscribing, since one may beat the insert's own response.
 */
export async function checkRealtime(a: ProbeUser, clienteId: string, tag: string, timeoutMs: number): Promise<Outcome> {
  const seen = new Set<string>();
  let notify: () => void = () => undefined;
  let channel: RealtimeChannel | undefined;
  try {
    channel = a.client.channel(`probe-${tag}`).on(
      "postgres_changes",
      { event: "INSERT", schema: "public", table: "tickets", filter: `tenant_id=eq.${a.tenantId}` },
      (payload) => {
        const id = (payload.new as { id?: unknown }).id;
        if (typeof id === "string") seen.add(id);
        notify();
      },
    );
    const ch = channel;
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        ch.subscribe((status, err) => {
          if (status === "SUBSCRIBED") resolve();
          else reject(new Error(`channel ${status}${err ? `: ${err.message}` : ""}`));
        });
      }),
      timeoutMs,
      "not SUBSCRIBED",
    );
    const slaVence = new Date(Date.now() + 86_400_000).toISOString();
    const ins = await a.client.from("tickets").insert({ tenant_id: a.tenantId, cliente_id: clienteId, titulo: `probe-${tag}`, sla_vence: slaVence }).select("id");
    if (ins.error) throw new Error(`ticket insert as ${a.tenantSlug} failed: ${ins.error.message}`);
    const id = String(ins.data?.[0]?.id);
    const start = performance.now();
    await withTimeout(
      new Promise<void>((resolve) => {
        notify = () => seen.has(id) && resolve();
        notify();
      }),
      timeoutMs,
      `no INSERT event for ticket ${id}`,
    );
    return { ok: true, detail: `INSERT of ticket ${id} arrived after ${Math.round(performance.now() - start)} ms` };
  } finally {
    if (channel) await a.client.removeChannel(channel);
  }
}
