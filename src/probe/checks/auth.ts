import { randomBytes } from "node:crypto";
import type { SupabaseClient } from "@supabase/supabase-js";
import { client } from "../clients";
import type { Outcome } from "../result";
import type { ProbeTarget } from "../target";

type Project = ProbeTarget["projects"][number];

export interface ProbeUser {
  id: string;
  email: string;
  tenantId: string;
  tenantSlug: string;
  /** Signed in with the anon key: what a browser holding this user's session can do. */
  client: SupabaseClient;
}

/** What the auth check leaves for the checks after it, and for the cleanup. */
export interface AuthState {
  users: ProbeUser[];
  created: { id: string; email: string }[];
}

/** Safe as the domain of an address nobody can receive mail at (RFC 2606's .invalid). */
export const probeDomain = (stack: string): string => `${stack.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "") || "stack"}.invalid`;

export const probeEmail = (stack: string, tag: string, n: number): string => `probe-${tag}-${String.fromCharCode(97 + n)}@${probeDomain(stack)}`;

/**
 * One user per tenant (the first two), created with the admin API the way
 * onboarding does (tenant in app_metadata), then signed in with a password as
 * an app would. Created users are recorded before sign-in so cleanup finds them.
 */
export async function signInProbeUsers(project: Project, stack: string, tag: string, state: AuthState): Promise<Outcome> {
  const admin = client(project.apiUrl, project.serviceKey);
  const tenants = project.tenants.slice(0, 2);
  const pending: { id: string; email: string; password: string; tenant: (typeof tenants)[number] }[] = [];
  for (const [i, tenant] of tenants.entries()) {
    const email = probeEmail(stack, tag, i);
    const password = randomBytes(18).toString("base64url");
    const { data, error } = await admin.auth.admin.createUser({ email, password, email_confirm: true, app_metadata: { tenant_id: tenant.id } });
    if (error || !data.user) throw new Error(`creating ${email} (tenant ${tenant.slug}) failed: ${error?.message ?? "no user returned"}`);
    state.created.push({ id: data.user.id, email });
    pending.push({ id: data.user.id, email, password, tenant });
  }
  for (const u of pending) {
    const c = client(project.apiUrl, project.anonKey);
    const { data, error } = await c.auth.signInWithPassword({ email: u.email, password: u.password });
    if (error || !data.session) throw new Error(`sign-in of ${u.email} failed: ${error?.message ?? "no session returned"}`);
    state.users.push({ id: u.id, email: u.email, tenantId: u.tenant.id, tenantSlug: u.tenant.slug, client: c });
  }
  return { ok: true, detail: `created and signed in ${pending.map((u) => `${u.email} (${u.tenant.slug})`).join(", ")}` };
}

/** auth-js leaves some server errors as "{}": the status then says more. */
const authError = (e: { message: string; status?: number; name: string }): string =>
  [e.status, e.message && e.message !== "{}" ? e.message : e.name].filter((x) => x !== undefined && x !== "").join(" ");

/** Best effort: returns what could not be deleted, "" when everything was. */
export async function deleteProbeUsers(project: Project, state: AuthState): Promise<string> {
  const admin = client(project.apiUrl, project.serviceKey);
  const failed: string[] = [];
  for (const u of state.created) {
    try {
      const { error } = await admin.auth.admin.deleteUser(u.id);
      if (error) failed.push(`${u.email}: ${authError(error)}`);
    } catch (err) {
      failed.push(`${u.email}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  for (const u of state.users) await u.client.realtime.disconnect();
  return failed.length === 0 ? "" : `could not delete ${failed.join("; ")}`;
}
