import { describe, expect, it } from "vitest";
import { renderMigrationBundle } from "../../src/rls/bundle";
import { accessSql, tablePolicies } from "../../src/rls/generate";
import { PACKS, projectMigrations } from "../../src/rls/migrations";
import { definePack, type PackInput } from "../../src/rls/model";
import { mspOps } from "../../src/rls/packs/mspOps";
import { tenantRegistry } from "../../src/rls/packs/tenantRegistry";
import { tenantUuid } from "../../src/rls/tenants";

describe("the policy model", () => {
  it("keeps the user's table and view names for both packs", () => {
    expect(PACKS["msp-ops"].tables.map((t) => t.name)).toEqual([
      "clientes", "sitios", "dispositivos", "tickets", "contratos", "suscripciones", "eventos_rmm", "users",
      // The automations' service tables.
      "rmm_mapeo", "reglas_rmm", "eventos_rmm_sin_asignar", "outbox",
    ]);
    expect(PACKS["msp-ops"].views.map((v) => v.name)).toEqual(["v_dispositivos_sin_parchear", "v_tickets_sla_vencidos", "v_clientes_mrr"]);
    expect(PACKS["tenant-registry"].tables.map((t) => t.name)).toEqual([
      "tenants", "tenant_products", "tenant_domains", "tenant_integrations", "tenant_services", "api_providers", "api_endpoints", "api_credentials", "mcp_capabilities",
      // Its plans, and the outbox it shares with msp-ops (the same table: a project with both has one).
      "registry_plans", "outbox",
    ]);
    expect(PACKS["tenant-registry"].tables.find((t) => t.name === "outbox")).toEqual(PACKS["msp-ops"].tables.find((t) => t.name === "outbox"));
    expect(PACKS["tenant-registry"].views.map((v) => v.name)).toEqual(["v_tenant_overview"]);
  });

  it("refuses an inconsistent pack, naming every problem", () => {
    const broken: PackInput = structuredClone(mspOps);
    broken.tables[1]!.references![0]!.table = "customers";
    broken.tables[3]!.indexes = [["estado", "tenant_id"]];
    broken.tables[0]!.anonRead = { columns: ["nope"], where: "true" };
    broken.views![0]!.reads = ["devices"];
    expect(() => definePack(broken)).toThrow(
      [
        "schema pack msp-ops is inconsistent:",
        '  clientes: anonRead column "nope" is not a column',
        "  sitios: references unknown table customers",
        "  tickets: index (estado, tenant_id) must lead with tenant_id",
        "  view v_dispositivos_sin_parchear: reads unknown table devices",
      ].join("\n"),
    );
  });

  it("refuses a private catalogue that could leak: an owner column that is not a nullable uuid, anon reading private rows, a follower without its reference", () => {
    const broken: PackInput = structuredClone(tenantRegistry);
    const providers = broken.tables.find((t) => t.name === "api_providers")!;
    providers.columns = providers.columns.map((c) => (c.name === "tenant_id" ? { ...c, nullable: false } : c));
    providers.anonRead = { columns: ["name"], where: "public" };
    const endpoints = broken.tables.find((t) => t.name === "api_endpoints")!;
    endpoints.visibleWith = { column: "provider_id", table: "tenants" };
    broken.tables.find((t) => t.name === "tenant_domains")!.privateTo = "tenant_id";
    expect(() => definePack(broken)).toThrow(
      [
        "schema pack tenant-registry is inconsistent:",
        "  tenant_domains: privateTo and visibleWith are for global tables",
        "  api_providers: privateTo tenant_id must be a nullable uuid (null: shared)",
        "  api_providers: anon may only read shared rows; anonRead.where must require tenant_id is null",
        "  api_endpoints: visibleWith needs a reference from provider_id to tenants",
      ].join("\n"),
    );
  });

  it("generates role-named policies only, with the tenant helper wrapped in a select", () => {
    for (const pack of Object.values(PACKS)) {
      for (const t of pack.tables) {
        for (const p of tablePolicies(t)) {
          expect(["anon", "authenticated", "auditor"]).toContain(p.role);
          if (p.role === "authenticated") expect(`${p.using ?? ""} ${p.check ?? ""}`).toContain("(select supafleet.tenant_id())");
        }
        const sql = accessSql(t);
        expect(sql).toContain(`alter table public.${t.name} force row level security;`);
        expect(sql).toContain(`revoke all on public.${t.name} from anon, authenticated, auditor;`);
      }
    }
  });

  it("never grants a secret or write-only column for reading", () => {
    const creds = PACKS["tenant-registry"].tables.find((t) => t.name === "api_credentials")!;
    const grants = accessSql(creds).split("\n").filter((l) => l.startsWith("grant select ("));
    for (const g of grants) {
      expect(g).not.toContain("secret_ciphertext");
      expect(g).not.toContain("secret_plaintext");
    }
  });

  it("hides a service table from every API role but service_role", () => {
    const outbox = PACKS["msp-ops"].tables.find((t) => t.name === "outbox")!;
    expect(outbox.scope).toBe("service");
    expect(tablePolicies(outbox)).toEqual([]);
    const grants = accessSql(outbox).split("\n").filter((l) => l.startsWith("grant "));
    expect(grants).toEqual(["grant select, insert, update, delete on public.outbox to service_role;"]);
    // Every policy a past version had is dropped.
    expect(accessSql(outbox)).toContain("where schemaname = 'public' and tablename = 'outbox'  loop");
    const hidden: PackInput = {
      name: "x",
      order: 500,
      tables: [{ name: "cola", comment: "c", scope: "service", columns: [{ name: "id", type: "uuid" }], anonRead: { columns: ["id"], where: "true" } }],
    };
    expect(() => definePack(hidden)).toThrow("cola: a service table is hidden from every API role; anonRead, secret and write-only columns mean nothing there");
  });

  it("never lets a user write a privilege column, even on their own row, and refuses one left undeclared", () => {
    const users = PACKS["msp-ops"].tables.find((t) => t.name === "users")!;
    expect(users.privilegeColumns).toEqual(["rol"]);
    const grant = accessSql(users).split("\n").find((l) => l.startsWith("grant update"))!;
    expect(grant).toMatch(/^grant update \(email, nombre, created_at\) on public\.users to authenticated;$/);
    const careless: PackInput = {
      name: "x",
      order: 500,
      tables: [
        {
          name: "perfiles",
          comment: "c",
          scope: "tenant",
          tenantWrites: "self",
          selfColumn: "id",
          columns: [{ name: "id", type: "uuid" }, { name: "tenant_id", type: "uuid" }, { name: "role", type: "text" }],
        },
      ],
    };
    expect(() => definePack(careless)).toThrow("perfiles: role looks like a privilege; list it in privilegeColumns so users cannot write it");
  });

  it("orders a project's migrations: core, its tenants, then packs, each id once", () => {
    const tenants = [{ slug: "a", name: "A", isolation: "pooled", plan: "starter" }] as never[];
    const ids = projectMigrations(["tenant-registry", "msp-ops"], tenants).map((m) => m.id);
    expect(ids).toEqual([
      "0001_supafleet_core", "0002_supafleet_tenants",
      "1000_msp_ops_tables", "1001_msp_ops_functions", "1002_msp_ops_access", "1003_msp_ops_views",
      "2000_tenant_registry_tables", "2001_tenant_registry_functions", "2002_tenant_registry_access", "2003_tenant_registry_views",
      "2090_tenant_registry_tenants",
    ]);
    expect(() => renderMigrationBundle([{ id: "1", sql: "" }])).toThrow("migration id 1 must look like 0001_name");
    expect(() => renderMigrationBundle([{ id: "0001_a", sql: "" }, { id: "0001_a", sql: "" }])).toThrow("migration id 0001_a appears twice");
  });

  it("gives each tenant a stable, well-formed UUID", () => {
    expect(tenantUuid("techhilfe")).toBe(tenantUuid("techhilfe"));
    expect(tenantUuid("techhilfe")).not.toBe(tenantUuid("techhilfe2"));
    expect(tenantUuid("techhilfe")).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
