import type { Outcome } from "../result";
import type { ProbeUser } from "./auth";

/**
 * B, in another tenant, tries to read, rename and delete A's row by its id.
 * RLS must make each a no-op; every leak is named, and A's re-reads prove
 * nothing changed behind an empty answer.
 */
export async function checkIsolation(a: ProbeUser, b: ProbeUser, row: { id: string; nombre: string }, tag: string): Promise<Outcome> {
  const leaks: string[] = [];
  const asA = async (): Promise<{ nombre: string } | undefined> => {
    const r = await a.client.from("clientes").select("nombre").eq("id", row.id);
    if (r.error) throw new Error(`re-read as ${a.tenantSlug} failed: ${r.error.message}`);
    return r.data?.[0] as { nombre: string } | undefined;
  };
  const who = `${b.tenantSlug} (B)`;

  const sel = await b.client.from("clientes").select("*").eq("id", row.id);
  if (sel.error) throw new Error(`select as ${who} failed: ${sel.error.message}`);
  if (sel.data.length > 0) leaks.push(`${who} read ${a.tenantSlug}'s row: ${JSON.stringify(sel.data[0])}`);

  const upd = await b.client.from("clientes").update({ nombre: `leak-${tag}` }).eq("id", row.id).select();
  if (upd.error) throw new Error(`update as ${who} failed: ${upd.error.message}`);
  if (upd.data.length > 0) leaks.push(`${who} updated ${upd.data.length} row(s)`);
  const afterUpdate = await asA();
  if (afterUpdate?.nombre !== row.nombre) leaks.push(`the row's name is now ${JSON.stringify(afterUpdate?.nombre ?? null)}, not ${row.nombre}`);

  const del = await b.client.from("clientes").delete().eq("id", row.id).select();
  if (del.error) throw new Error(`delete as ${who} failed: ${del.error.message}`);
  if (del.data.length > 0) leaks.push(`${who} deleted ${del.data.length} row(s)`);
  if ((await asA()) === undefined) leaks.push(`${a.tenantSlug} (A) no longer sees its row`);

  if (leaks.length > 0) return { ok: false, detail: `LEAK: ${leaks.join("; ")}` };
  return { ok: true, detail: `${who} could not read, update or delete ${a.tenantSlug}'s row` };
}
