import { createHash } from "node:crypto";

/** One ordered, idempotent migration. */
export interface Migration {
  /** Sorts the migrations: `0001_supafleet_core`. */
  readonly id: string;
  readonly sql: string;
}

export function checksum(sql: string): string {
  return createHash("sha256").update(sql).digest("hex");
}

const ID = /^\d{4}_[a-z0-9_]+$/;

/**
 * The project's migration runner: one psql script that applies, in order,
 * each migration whose id and checksum are not yet in the ledger, all in one
 * transaction. Run twice, the second run applies nothing; change a
 * migration's text and it is applied once more.
 */
export function renderMigrationBundle(migrations: readonly Migration[]): string {
  const seen = new Set<string>();
  for (const m of migrations) {
    if (!ID.test(m.id)) throw new Error(`migration id ${m.id} must look like 0001_name`);
    if (seen.has(m.id)) throw new Error(`migration id ${m.id} appears twice`);
    seen.add(m.id);
  }
  const ordered = [...migrations].sort((a, b) => a.id.localeCompare(b.id));
  const lines = [
    "-- supafleet migration bundle; run with: psql -X -v ON_ERROR_STOP=1 -f <this file>",
    "\\set ON_ERROR_STOP on",
    "set client_min_messages = warning;",
    "begin;",
    "create schema if not exists supafleet;",
    "create table if not exists supafleet.migrations (",
    "  id text primary key,",
    "  checksum text not null,",
    "  applied_at timestamptz not null default now()",
    ");",
    "revoke all on supafleet.migrations from public;",
  ];
  for (const m of ordered) {
    const sum = checksum(m.sql);
    const flag = `apply_${m.id}`;
    lines.push(
      "",
      `-- ${m.id} (sha256 ${sum})`,
      `select not exists (select 1 from supafleet.migrations where id = '${m.id}' and checksum = '${sum}') as ${flag} \\gset`,
      `\\if :${flag}`,
      `\\echo applying ${m.id}`,
      m.sql.trimEnd(),
      `insert into supafleet.migrations (id, checksum) values ('${m.id}', '${sum}')`,
      "  on conflict (id) do update set checksum = excluded.checksum, applied_at = now();",
      "\\endif",
    );
  }
  lines.push("", "commit;", "");
  return lines.join("\n");
}
