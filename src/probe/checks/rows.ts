import type { Outcome } from "../result";
import type { ProbeUser } from "./auth";

/** A's own row, written and read back through PostgREST under A's token. */
export async function checkRows(a: ProbeUser, tag: string): Promise<Outcome & { id?: string; nombre?: string }> {
  const nombre = `probe-${tag}`;
  const ins = await a.client.from("clientes").insert({ tenant_id: a.tenantId, nombre }).select();
  if (ins.error) throw new Error(`insert as ${a.tenantSlug} failed: ${ins.error.message}`);
  if (ins.data?.length !== 1) return { ok: false, detail: `insert returned ${ins.data?.length ?? 0} rows, expected 1` };
  const id = String(ins.data[0]!.id);
  const sel = await a.client.from("clientes").select("id, tenant_id, nombre").eq("id", id);
  if (sel.error) throw new Error(`read-back as ${a.tenantSlug} failed: ${sel.error.message}`);
  const rows = sel.data ?? [];
  const exact = rows.length === 1 && rows[0]!.id === id && rows[0]!.nombre === nombre && rows[0]!.tenant_id === a.tenantId;
  if (!exact) return { ok: false, detail: `read-back of ${id} returned ${JSON.stringify(rows)}` };
  return { ok: true, detail: `inserted and read back clientes ${id} as ${a.tenantSlug}`, id, nombre };
}
