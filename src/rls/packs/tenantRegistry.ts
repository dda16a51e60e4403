import { template } from "../../render/templates";
import { definePack, type PackInput } from "../model";
import { outboxSql, outboxTable } from "./outbox";

const id = { name: "id", type: "uuid", default: "gen_random_uuid()" };
const tenantId = { name: "tenant_id", type: "uuid" };
const createdAt = { name: "created_at", type: "timestamptz", default: "now()" };
const ofTenant = { columns: ["tenant_id"], table: "tenants", parentColumns: ["id"], onDelete: "cascade" as const };
const EMAIL = "~ '^[^@[:space:]]+@[^@[:space:]]+$'";
const DOMAIN = "~ '^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$'";

/**
 * The tenant registry pack (seed-001 and seed-002): tenants and what they
 * run, and a registry of API providers, endpoints, credentials and MCP
 * capabilities. Sign-ups become tenants through the outbox and
 * registry_onboard, and trials expire (templates/sql/tenant-registry/). A credential's secret is encrypted on write (AES-256, with a
 * key kept in Supabase Vault) and readable by no API role but service_role,
 * through one definer function.
 */
export const tenantRegistry: PackInput = {
  name: "tenant-registry",
  order: 200,
  tables: [
    {
      name: "tenants",
      comment: "Tenants of this project; a user sees their own.",
      scope: "tenant",
      scopeColumn: "id",
      tenantWrites: "none",
      // Seed 001: a user creates their tenant and sees it until their token carries its claim.
      owner: { column: "owner_id", insertColumns: ["name", "contact_email", "owner_id"] },
      columns: [
        { name: "id", type: "uuid", default: "gen_random_uuid()" },
        { name: "slug", type: "text", check: "slug ~ '^[a-z][a-z0-9-]{1,40}$'" },
        { name: "name", type: "text" },
        // Seed 002: the Chilean tax id (RUT), infrastructure or customer, and a trial that expires.
        { name: "rut", type: "text", nullable: true },
        { name: "type", type: "text", default: "'customer'", check: "type in ('infrastructure', 'customer')" },
        { name: "status", type: "text", default: "'active'", check: "status in ('trial', 'active', 'suspended', 'cancelled', 'deleted')" },
        { name: "plan", type: "text", nullable: true },
        { name: "trial_expires_at", type: "timestamptz", nullable: true },
        { name: "metadata", type: "jsonb", default: "'{}'::jsonb" },
        createdAt,
        { name: "updated_at", type: "timestamptz", default: "now()" },
        // Seed 002: whom to write to, and the domain the tenant is known by.
        { name: "contact_email", type: "text", nullable: true, check: `contact_email ${EMAIL}` },
        { name: "primary_domain", type: "text", nullable: true, check: `primary_domain ${DOMAIN}` },
        // Seed 001: the verified domain, unique across tenants (only service_role sets it, so no user can probe it), and the owner.
        { name: "domain", type: "text", nullable: true, check: `domain ${DOMAIN}` },
        { name: "owner_id", type: "uuid", nullable: true },
      ],
      references: [{ columns: ["owner_id"], table: "auth.users", parentColumns: ["id"], onDelete: "set null", external: true }],
      unique: [["slug"], ["rut"], ["domain"]],
    },
    {
      name: "tenant_products",
      comment: "Products a tenant has enabled.",
      scope: "tenant",
      columns: [id, tenantId, { name: "product", type: "text" }, { name: "enabled", type: "boolean", default: "true" }, { name: "config", type: "jsonb", default: "'{}'::jsonb" }, createdAt],
      references: [ofTenant],
      unique: [["tenant_id", "product"]],
    },
    {
      name: "tenant_domains",
      comment: "Domains a tenant uses, and whether ownership is verified.",
      scope: "tenant",
      columns: [
        id,
        tenantId,
        { name: "domain", type: "text", check: "domain ~ '^[a-z0-9.-]+$'" },
        { name: "verified", type: "boolean", default: "false" },
        createdAt,
        // Seed 002: what the domain serves.
        { name: "domain_type", type: "text", default: "'primary'", check: "domain_type in ('primary', 'chat', 'erp', 'automation', 'store')" },
      ],
      references: [ofTenant],
      // Unique per tenant only: a global constraint would tell one tenant another's domains.
      unique: [["tenant_id", "domain"]],
    },
    {
      name: "tenant_integrations",
      comment: "Third-party systems connected for a tenant (CRM, ERP, chat).",
      scope: "tenant",
      columns: [
        id,
        tenantId,
        { name: "kind", type: "text" },
        { name: "config", type: "jsonb", default: "'{}'::jsonb" },
        { name: "enabled", type: "boolean", default: "true" },
        createdAt,
        // Seed 002: the tenant's id in the other system (a Chatwoot account, an Odoo company).
        { name: "external_id", type: "text", nullable: true },
      ],
      references: [ofTenant],
      indexes: [["tenant_id", "kind"]],
    },
    {
      name: "tenant_services",
      comment: "Services provisioned for a tenant, with their external ids.",
      scope: "tenant",
      columns: [id, tenantId, { name: "service_name", type: "text" }, { name: "service_id", type: "text", nullable: true }, { name: "config", type: "jsonb", default: "'{}'::jsonb" }, { name: "enabled", type: "boolean", default: "true" }, createdAt],
      references: [ofTenant],
      indexes: [["tenant_id", "service_name"]],
    },
    {
      name: "api_providers",
      comment: "The catalogue of API providers: shared ones (no tenant) for everyone, private ones for their tenant only; shared public ones are listed to anyone.",
      scope: "global",
      // Seed 002: a tenant's own, private provider (its ERP, say) sits beside the shared catalogue.
      privateTo: "tenant_id",
      columns: [
        id,
        { name: "tenant_id", type: "uuid", nullable: true },
        { name: "name", type: "text" },
        { name: "base_url", type: "text" },
        { name: "docs_url", type: "text", nullable: true },
        { name: "auth_type", type: "text", default: "'api_key'", check: "auth_type in ('api_key', 'bearer', 'basic', 'oauth2', 'none')" },
        { name: "public", type: "boolean", default: "false" },
        createdAt,
        // Seed 002: what kind of API it is.
        { name: "category", type: "text", default: "'custom'", check: "category in ('erp', 'payments', 'ecommerce', 'custom')" },
      ],
      anonRead: { columns: ["id", "name", "docs_url"], where: "public and tenant_id is null" },
      references: [ofTenant],
      unique: [["tenant_id", "name"]],
    },
    {
      name: "api_endpoints",
      comment: "Endpoints of an API provider, seen by whoever sees the provider.",
      scope: "global",
      visibleWith: { column: "provider_id", table: "api_providers" },
      columns: [
        id,
        { name: "provider_id", type: "uuid" },
        { name: "method", type: "text", check: "method in ('GET', 'POST', 'PUT', 'PATCH', 'DELETE')" },
        { name: "path", type: "text" },
        { name: "description", type: "text", nullable: true },
        // What an MCP capability calls it by ('list_orders'), and the shapes it takes and returns.
        { name: "semantic_name", type: "text", nullable: true },
        { name: "schema_in", type: "jsonb", nullable: true },
        { name: "schema_out", type: "jsonb", nullable: true },
      ],
      references: [{ columns: ["provider_id"], table: "api_providers", parentColumns: ["id"], onDelete: "cascade" }],
      indexes: [["provider_id"]],
    },
    {
      name: "api_credentials",
      comment: "A tenant's credentials for an API provider. The secret is encrypted on write and never readable by a tenant.",
      scope: "tenant",
      columns: [
        id,
        tenantId,
        { name: "provider_id", type: "uuid" },
        { name: "name", type: "text" },
        { name: "secret_plaintext", type: "text", nullable: true, check: "secret_plaintext is null" },
        { name: "secret_ciphertext", type: "bytea", nullable: true },
        { name: "last_four", type: "text", nullable: true },
        createdAt,
        { name: "rotated_at", type: "timestamptz", nullable: true },
      ],
      writeOnlyColumns: ["secret_plaintext"],
      secretColumns: ["secret_ciphertext"],
      references: [ofTenant, { columns: ["provider_id"], table: "api_providers", parentColumns: ["id"], onDelete: "restrict" }],
      indexes: [["tenant_id", "provider_id"]],
    },
    {
      name: "mcp_capabilities",
      comment: "MCP capabilities a tenant exposes; the public ones are listed to anyone.",
      scope: "tenant",
      columns: [
        id,
        tenantId,
        { name: "name", type: "text" },
        { name: "description", type: "text", nullable: true },
        { name: "backing_endpoint_id", type: "uuid", nullable: true },
        { name: "public", type: "boolean", default: "false" },
        createdAt,
      ],
      references: [ofTenant, { columns: ["backing_endpoint_id"], table: "api_endpoints", parentColumns: ["id"], onDelete: "set null" }],
      anonRead: { columns: ["name", "description"], where: "public" },
      indexes: [["tenant_id", "name"]],
    },
    {
      name: "registry_plans",
      comment: "The registry's plans (from the stack file): the products a plan activates, and how long its trial lasts.",
      scope: "service",
      columns: [
        { name: "id", type: "text", check: "id ~ '^[a-z][a-z0-9-]{0,40}$'" },
        { name: "products", type: "text[]", default: "'{}'" },
        { name: "trial_hours", type: "integer", nullable: true, check: "trial_hours > 0" },
        { name: "updated_at", type: "timestamptz", default: "now()" },
      ],
    },
    outboxTable,
  ],
  views: [
    {
      name: "v_tenant_overview",
      comment: "Each tenant's products, domains, integrations, trial or plan, and usage counts (seed 002's dashboard); never a secret.",
      reads: ["tenants", "tenant_products", "tenant_domains", "tenant_services", "tenant_integrations", "api_credentials", "mcp_capabilities"],
      query: template("sql/tenant-registry/v_tenant_overview.sql").trimEnd(),
    },
  ],
  extraSql: [outboxSql(), template("sql/tenant-registry/credentials.sql"), template("sql/tenant-registry/onboarding.sql"), template("sql/tenant-registry/trials.sql")].join("\n"),
};

export const tenantRegistryPack = definePack(tenantRegistry);
