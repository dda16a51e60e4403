import type { Pack } from "./model";

/**
 * A project's own choice of Realtime tables over its packs' defaults: the
 * packs say which tables may be published, the project which ones are.
 */
export function withRealtimeChoice(pack: Pack, tables: readonly string[] | undefined): Pack {
  if (tables === undefined) return pack;
  return { ...pack, tables: pack.tables.map((t) => ({ ...t, realtime: tables.includes(t.name) })) };
}

/** Realtime sends whole rows to subscribers: only a tenant table whose every column its users may read. */
export function publishable(t: Pack["tables"][number]): boolean {
  return t.scope === "tenant" && t.secretColumns.length === 0 && t.writeOnlyColumns.length === 0;
}
