/** The roles that log in with the project's Postgres password. */
export const PASSWORD_ROLES = [
  "postgres",
  "supabase_admin",
  "authenticator",
  "pgbouncer",
  "supabase_auth_admin",
  "supabase_functions_admin",
  "supabase_storage_admin",
] as const;

/**
 * SQL that gives every existing service role a new password, for a running
 * database whose volume must survive: the init scripts never run again.
 */
export function passwordChangeSql(password: string): string {
  if (!/^[A-Za-z0-9]+$/.test(password)) throw new Error("project Postgres passwords are letters and digits only");
  const roles = PASSWORD_ROLES.map((r) => `'${r}'`).join(", ");
  return [
    "-- supafleet: apply a new project password in place (ALTER ROLE), never by recreating the volume.",
    `select set_config('supafleet.new_password', '${password}', false);`,
    "do $$",
    "declare",
    "  r text;",
    "begin",
    `  foreach r in array array[${roles}] loop`,
    "    if exists (select 1 from pg_roles where rolname = r) then",
    "      execute format('alter role %I with password %L', r, current_setting('supafleet.new_password'));",
    "    end if;",
    "  end loop;",
    "end",
    "$$;",
    "select set_config('supafleet.new_password', '', false);",
    "",
  ].join("\n");
}
