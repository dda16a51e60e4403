import { template } from "../../render/templates";
import { definePack, type PackInput } from "../model";
import { outboxSql, outboxTable } from "./outbox";

/** Columns every MSP table starts with: its id and its tenant. */
const owned = [
  { name: "id", type: "uuid", default: "gen_random_uuid()" },
  { name: "tenant_id", type: "uuid" },
];
const createdAt = { name: "created_at", type: "timestamptz", default: "now()" };
const byTenant = (table: string, column: string, onDelete: "cascade" | "set null" | "restrict" = "cascade") => ({
  columns: ["tenant_id", column],
  table,
  parentColumns: ["tenant_id", "id"],
  onDelete,
});

/**
 * The MSP operations pack (seed-000): customers, sites, devices, tickets,
 * contracts, subscriptions and RMM events, per tenant. Children reference
 * parents by (tenant_id, id), so a row can never point into another tenant.
 * The service tables and automation.sql are what n8n drives: RMM alerts into
 * tickets, and the shared outbox (./outbox.ts) for billing and onboarding.
 */
export const mspOps: PackInput = {
  name: "msp-ops",
  order: 100,
  tables: [
    {
      name: "clientes",
      comment: "Customers of the tenant.",
      scope: "tenant",
      columns: [...owned, { name: "nombre", type: "text" }, { name: "email", type: "text", nullable: true }, { name: "telefono", type: "text", nullable: true }, { name: "activo", type: "boolean", default: "true" }, createdAt],
      indexes: [["tenant_id", "nombre"]],
    },
    {
      name: "sitios",
      comment: "Sites (offices, branches) of a customer.",
      scope: "tenant",
      columns: [...owned, { name: "cliente_id", type: "uuid" }, { name: "nombre", type: "text" }, { name: "direccion", type: "text", nullable: true }, createdAt],
      references: [byTenant("clientes", "cliente_id")],
      indexes: [["tenant_id", "cliente_id"]],
    },
    {
      name: "dispositivos",
      comment: "Managed devices at a site, as the RMM agent reports them.",
      scope: "tenant",
      columns: [
        ...owned,
        { name: "sitio_id", type: "uuid" },
        { name: "hostname", type: "text" },
        { name: "sistema_operativo", type: "text" },
        { name: "agente_rmm", type: "text", nullable: true },
        { name: "ultimo_parche", type: "timestamptz", nullable: true },
        { name: "parches_pendientes", type: "integer", default: "0", check: "parches_pendientes >= 0" },
        createdAt,
      ],
      references: [byTenant("sitios", "sitio_id")],
      // rmm_ingest finds a device by its agent id.
      indexes: [["tenant_id", "sitio_id"], ["tenant_id", "parches_pendientes"], ["tenant_id", "ultimo_parche"], ["tenant_id", "agente_rmm"]],
    },
    {
      name: "tickets",
      comment: "Support tickets, with their SLA deadline.",
      scope: "tenant",
      // A helpdesk view updates as tickets arrive (from RMM alerts, too).
      realtime: true,
      columns: [
        ...owned,
        { name: "cliente_id", type: "uuid" },
        { name: "dispositivo_id", type: "uuid", nullable: true },
        { name: "titulo", type: "text" },
        { name: "descripcion", type: "text", nullable: true },
        { name: "prioridad", type: "text", default: "'media'", check: "prioridad in ('baja', 'media', 'alta', 'critica')" },
        { name: "estado", type: "text", default: "'abierto'", check: "estado in ('abierto', 'en_progreso', 'esperando', 'cerrado')" },
        { name: "sla_vence", type: "timestamptz" },
        createdAt,
        { name: "cerrado_at", type: "timestamptz", nullable: true },
        // Who opened it; an automation keeps at most one open ticket per key (partial unique indexes in automation.sql).
        { name: "origen", type: "text", default: "'manual'", check: "origen in ('manual', 'rmm', 'onboarding')" },
        { name: "rmm_agente", type: "text", nullable: true },
        { name: "rmm_check", type: "text", nullable: true },
        { name: "rmm_repeticiones", type: "integer", default: "0", check: "rmm_repeticiones >= 0" },
        { name: "rmm_ultimo_at", type: "timestamptz", nullable: true },
      ],
      references: [byTenant("clientes", "cliente_id"), byTenant("dispositivos", "dispositivo_id", "set null")],
      indexes: [["tenant_id", "estado", "sla_vence"], ["tenant_id", "cliente_id"], ["tenant_id", "dispositivo_id"]],
    },
    {
      name: "contratos",
      comment: "Service contracts with a customer: term, monthly amount and SLA.",
      scope: "tenant",
      columns: [
        ...owned,
        { name: "cliente_id", type: "uuid" },
        { name: "inicio", type: "date" },
        { name: "fin", type: "date", nullable: true },
        { name: "importe_mensual", type: "numeric(12,2)", check: "importe_mensual >= 0" },
        { name: "sla_horas", type: "integer", default: "8", check: "sla_horas > 0" },
        createdAt,
      ],
      references: [byTenant("clientes", "cliente_id")],
      indexes: [["tenant_id", "cliente_id"]],
    },
    {
      name: "suscripciones",
      comment: "Recurring subscriptions a customer pays for; the source of MRR.",
      scope: "tenant",
      columns: [
        ...owned,
        { name: "cliente_id", type: "uuid" },
        { name: "producto", type: "text" },
        { name: "cantidad", type: "integer", default: "1", check: "cantidad > 0" },
        { name: "precio_unitario", type: "numeric(12,2)", check: "precio_unitario >= 0" },
        { name: "estado", type: "text", default: "'activa'", check: "estado in ('activa', 'pausada', 'cancelada')" },
        { name: "renovacion", type: "date", nullable: true },
        createdAt,
      ],
      references: [byTenant("clientes", "cliente_id")],
      indexes: [["tenant_id", "cliente_id"]],
    },
    {
      name: "eventos_rmm",
      comment: "Alerts and events from the RMM (Tactical RMM webhooks).",
      scope: "tenant",
      columns: [
        ...owned,
        { name: "dispositivo_id", type: "uuid", nullable: true },
        { name: "tipo", type: "text" },
        { name: "severidad", type: "text", default: "'info'", check: "severidad in ('info', 'aviso', 'critico')" },
        { name: "payload", type: "jsonb", default: "'{}'::jsonb" },
        { name: "recibido_at", type: "timestamptz", default: "now()" },
        // TRMM's own event id: a webhook delivered twice is stored once.
        { name: "evento_rmm_id", type: "text", nullable: true },
        // The agent is not a known device: an operator has to map it.
        { name: "sin_asignar", type: "boolean", default: "false" },
        { name: "ticket_id", type: "uuid", nullable: true },
      ],
      references: [byTenant("dispositivos", "dispositivo_id", "set null"), byTenant("tickets", "ticket_id", "set null")],
      indexes: [["tenant_id", "recibido_at"], ["tenant_id", "dispositivo_id"]],
      unique: [["tenant_id", "evento_rmm_id"]],
    },
    {
      name: "users",
      comment: "A tenant's user profile, one per auth.users row.",
      scope: "tenant",
      tenantWrites: "self",
      selfColumn: "id",
      // A técnico may edit their own profile, never promote themselves to admin.
      privilegeColumns: ["rol"],
      columns: [
        { name: "id", type: "uuid" },
        { name: "tenant_id", type: "uuid" },
        { name: "email", type: "text" },
        { name: "nombre", type: "text", nullable: true },
        { name: "rol", type: "text", default: "'tecnico'", check: "rol in ('tecnico', 'admin')" },
        createdAt,
      ],
      references: [{ columns: ["id"], table: "auth.users", parentColumns: ["id"], onDelete: "cascade", external: true }],
      indexes: [["tenant_id", "email"]],
    },
    {
      name: "rmm_mapeo",
      comment: "Which tenant and customer a Tactical RMM client (and optionally site) belongs to. An empty site maps the whole client.",
      scope: "service",
      columns: [
        ...owned,
        { name: "cliente_trmm", type: "text" },
        { name: "sitio_trmm", type: "text", default: "''" },
        { name: "cliente_id", type: "uuid" },
        { name: "sitio_id", type: "uuid", nullable: true },
        createdAt,
      ],
      references: [byTenant("clientes", "cliente_id"), byTenant("sitios", "sitio_id", "set null")],
      // Global, not per tenant: the names are how an unassigned alert finds its tenant.
      unique: [["cliente_trmm", "sitio_trmm"]],
    },
    {
      name: "reglas_rmm",
      comment: "When an RMM alert is critical. A tenant's rules beat the global ones (tenant_id null); the more specific match wins; '*' matches anything.",
      scope: "service",
      columns: [
        { name: "id", type: "uuid", default: "gen_random_uuid()" },
        { name: "tenant_id", type: "uuid", nullable: true },
        { name: "severidad_trmm", type: "text", default: "'*'", check: "severidad_trmm in ('*', 'info', 'warning', 'error')" },
        { name: "tipo_alerta", type: "text", default: "'*'", check: "tipo_alerta in ('*', 'availability', 'check', 'task', 'custom')" },
        { name: "critico", type: "boolean", default: "true" },
        createdAt,
      ],
      indexes: [["tenant_id"]],
    },
    {
      name: "eventos_rmm_sin_asignar",
      comment: "RMM alerts whose client and site map to no tenant, kept for an operator to map.",
      scope: "service",
      columns: [
        { name: "id", type: "uuid", default: "gen_random_uuid()" },
        { name: "evento_rmm_id", type: "text" },
        { name: "cliente_trmm", type: "text", nullable: true },
        { name: "sitio_trmm", type: "text", nullable: true },
        { name: "agente_rmm", type: "text", nullable: true },
        { name: "hostname", type: "text", nullable: true },
        { name: "payload", type: "jsonb", default: "'{}'::jsonb" },
        { name: "recibido_at", type: "timestamptz", default: "now()" },
      ],
      unique: [["evento_rmm_id"]],
    },
    outboxTable,
  ],
  views: [
    {
      name: "v_dispositivos_sin_parchear",
      comment: "Devices with pending patches, or none applied in 30 days.",
      reads: ["dispositivos", "sitios", "clientes"],
      query: `select d.tenant_id, d.id, d.hostname, d.sistema_operativo, d.parches_pendientes, d.ultimo_parche, s.nombre as sitio, c.nombre as cliente
  from public.dispositivos d
  join public.sitios s on s.tenant_id = d.tenant_id and s.id = d.sitio_id
  join public.clientes c on c.tenant_id = s.tenant_id and c.id = s.cliente_id
  where d.parches_pendientes > 0 or d.ultimo_parche is null or d.ultimo_parche < now() - interval '30 days'`,
    },
    {
      name: "v_tickets_sla_vencidos",
      comment: "Open tickets past their SLA deadline.",
      reads: ["tickets", "clientes"],
      query: `select t.tenant_id, t.id, t.titulo, t.prioridad, t.estado, t.sla_vence, c.nombre as cliente
  from public.tickets t
  join public.clientes c on c.tenant_id = t.tenant_id and c.id = t.cliente_id
  where t.estado <> 'cerrado' and t.sla_vence < now()`,
    },
    {
      name: "v_clientes_mrr",
      comment: "Monthly recurring revenue per customer, from active subscriptions.",
      reads: ["clientes", "suscripciones"],
      query: `select c.tenant_id, c.id, c.nombre,
    coalesce(sum(s.cantidad * s.precio_unitario) filter (where s.estado = 'activa'), 0)::numeric(12,2) as mrr
  from public.clientes c
  left join public.suscripciones s on s.tenant_id = c.tenant_id and s.cliente_id = c.id
  group by c.tenant_id, c.id, c.nombre`,
    },
  ],
  extraSql: `${outboxSql()}\n${template("sql/msp-ops/automation.sql")}`,
};

export const mspOpsPack = definePack(mspOps);
