import type { SchemaPack } from "../config/schema";
import { template } from "../render/templates";
import type { Migration } from "./bundle";

/** The migrations every project with schema packs receives, in order. */
export function coreMigrations(): Migration[] {
  return [{ id: "0001_supafleet_core", sql: template("sql/core/0001_supafleet_core.sql") }];
}

/**
 * A project's migrations: the core (tenant helper, auditor role, token hook)
 * and then each of its schema packs.
 */
export function projectMigrations(packs: readonly SchemaPack[]): Migration[] {
  return [...coreMigrations(), ...packs.flatMap(packMigrations)];
}

/** Packs register their migrations here as they are written (issue #7). */
const PACK_MIGRATIONS: Partial<Record<SchemaPack, () => Migration[]>> = {};

function packMigrations(pack: SchemaPack): Migration[] {
  return PACK_MIGRATIONS[pack]?.() ?? [];
}
