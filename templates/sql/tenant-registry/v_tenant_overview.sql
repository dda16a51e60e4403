select t.id as tenant_id, t.slug, t.name, t.type, t.status, t.plan, t.trial_expires_at,
    t.status = 'trial' and (t.trial_expires_at is null or t.trial_expires_at > now()) as trial_active,
    case when t.status = 'trial' and t.trial_expires_at is not null
      then greatest(0, ceil(extract(epoch from t.trial_expires_at - now()) / 3600))::integer end as trial_hours_left,
    t.contact_email, t.primary_domain, t.domain,
    coalesce((select jsonb_agg(p.product order by p.product) from public.tenant_products p where p.tenant_id = t.id and p.enabled), '[]'::jsonb) as products,
    coalesce((select jsonb_agg(jsonb_build_object('domain', d.domain, 'domain_type', d.domain_type, 'verified', d.verified) order by d.domain)
      from public.tenant_domains d where d.tenant_id = t.id), '[]'::jsonb) as domain_list,
    -- Which systems are connected, and the tenant's id there; never their config, which may hold a secret.
    coalesce((select jsonb_agg(jsonb_build_object('kind', i.kind, 'external_id', i.external_id) order by i.kind, i.external_id)
      from public.tenant_integrations i where i.tenant_id = t.id and i.enabled), '[]'::jsonb) as integration_list,
    (select count(*) from public.tenant_domains d where d.tenant_id = t.id) as domains,
    (select count(*) from public.tenant_services s where s.tenant_id = t.id) as services,
    (select count(*) from public.tenant_integrations i where i.tenant_id = t.id) as integrations,
    (select count(c.id) from public.api_credentials c where c.tenant_id = t.id) as credentials,
    (select count(*) from public.mcp_capabilities m where m.tenant_id = t.id) as capabilities
  from public.tenants t
