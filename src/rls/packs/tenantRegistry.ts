import { definePack, type PackInput } from "../model";

const id = { name: "id", type: "uuid", default: "gen_random_uuid()" };
const tenantId = { name: "tenant_id", type: "uuid" };
const createdAt = { name: "created_at", type: "timestamptz", default: "now()" };
const ofTenant = { columns: ["tenant_id"], table: "tenants", parentColumns: ["id"], onDelete: "cascade" as const };

/**
 * The tenant registry pack (seed-001 and seed-002): tenants and what they
 * run, and a registry of API providers, endpoints, credentials and MCP
 * capabilities. A credential's secret is encrypted on write (AES-256, with a
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
      ],
      unique: [["slug"], ["rut"]],
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
      columns: [id, tenantId, { name: "domain", type: "text", check: "domain ~ '^[a-z0-9.-]+$'" }, { name: "verified", type: "boolean", default: "false" }, createdAt],
      references: [ofTenant],
      // Unique per tenant only: a global constraint would tell one tenant another's domains.
      unique: [["tenant_id", "domain"]],
    },
    {
      name: "tenant_integrations",
      comment: "Third-party systems connected for a tenant (CRM, ERP, chat).",
      scope: "tenant",
      columns: [id, tenantId, { name: "kind", type: "text" }, { name: "config", type: "jsonb", default: "'{}'::jsonb" }, { name: "enabled", type: "boolean", default: "true" }, createdAt],
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
  ],
  views: [
    {
      name: "v_tenant_overview",
      comment: "Each tenant with counts of its domains, services, integrations and credentials; never a secret.",
      reads: ["tenants", "tenant_domains", "tenant_services", "tenant_integrations", "api_credentials"],
      query: `select t.id as tenant_id, t.slug, t.name, t.status,
    (select count(*) from public.tenant_domains d where d.tenant_id = t.id) as domains,
    (select count(*) from public.tenant_services s where s.tenant_id = t.id) as services,
    (select count(*) from public.tenant_integrations i where i.tenant_id = t.id) as integrations,
    (select count(c.id) from public.api_credentials c where c.tenant_id = t.id) as credentials
  from public.tenants t`,
    },
  ],
  extraSql: `-- The key for api_credentials lives in Supabase Vault, encrypted at rest with the
-- server's root key, which is a file outside the database (the db-config volume).
do $$ begin
  if not exists (select 1 from vault.secrets where name = 'supafleet_api_credentials') then
    perform vault.create_secret(encode(extensions.gen_random_bytes(32), 'hex'), 'supafleet_api_credentials');
  end if;
end $$;

-- Only the definer functions below call it; no API role may, not even service_role.
create or replace function supafleet.api_credentials_key() returns text
language plpgsql stable security definer set search_path = ''
as $$
declare
  k text;
begin
  select s.decrypted_secret into k from vault.decrypted_secrets s where s.name = 'supafleet_api_credentials';
  -- A missing key must stop the write: encrypting with null would store null and lose the secret.
  if k is null then
    raise exception 'supafleet: the api_credentials key is missing from Vault (secret supafleet_api_credentials)';
  end if;
  return k;
end
$$;
revoke all on function supafleet.api_credentials_key() from public, anon, authenticated, auditor, service_role;

-- Encrypts a credential's secret as it is written (AES-256, seed 002); the plaintext column never keeps a value.
create or replace function supafleet.encrypt_api_credential() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if new.secret_plaintext is not null then
    new.secret_ciphertext := extensions.pgp_sym_encrypt(new.secret_plaintext, supafleet.api_credentials_key(), 'cipher-algo=aes256');
    new.last_four := right(new.secret_plaintext, 4);
    new.secret_plaintext := null;
    if tg_op = 'UPDATE' then
      new.rotated_at := now();
    end if;
  end if;
  return new;
end
$$;
revoke all on function supafleet.encrypt_api_credential() from public;

drop trigger if exists api_credentials_encrypt on public.api_credentials;
create trigger api_credentials_encrypt before insert or update on public.api_credentials
  for each row execute function supafleet.encrypt_api_credential();

-- The only way to read a secret back: service_role (automations), by credential id.
create or replace function supafleet.api_credential_secret(credential_id uuid) returns text
language sql stable security definer set search_path = ''
as $$
  select extensions.pgp_sym_decrypt(c.secret_ciphertext, supafleet.api_credentials_key())
  from public.api_credentials c
  where c.id = credential_id
$$;
revoke all on function supafleet.api_credential_secret(uuid) from public, anon, authenticated, auditor;
grant execute on function supafleet.api_credential_secret(uuid) to service_role;
`,
};

export const tenantRegistryPack = definePack(tenantRegistry);
