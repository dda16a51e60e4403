import { randomBytes } from "node:crypto";
import { client } from "../clients";
import type { Outcome } from "../result";
import type { ProbeTarget } from "../target";
import { probeDomain, type AuthState } from "./auth";

type Project = ProbeTarget["projects"][number];
type AuthSettings = NonNullable<Project["auth"]>;

/** What a target without Auth settings means: GoTrue's defaults as supafleet renders them. */
export function authSettingsOf(p: Project): AuthSettings {
  return p.auth ?? { siteUrl: p.apiUrl, redirectUrls: [], emailSignup: true, emailConfirm: true, providers: [] };
}

export const authorizeCheckName = (provider: string): string => `authorize ${provider}`;

/** WorkOS's authorize needs a connection, organization or provider of the client's, which the probe cannot know. */
const UNCHECKED = new Set(["workos"]);
/** Twitter signs in over OAuth 1.0a: its redirect carries a request token GoTrue fetched, not our client id. */
const OAUTH1 = new Set(["twitter"]);

/** The providers whose authorize redirect the probe checks. */
export function checkedProviders(p: Project): AuthSettings["providers"] {
  return authSettingsOf(p).providers.filter((x) => !UNCHECKED.has(x.name));
}

/**
 * Signs up with e-mail as a visitor would (anon key, a password). Where sign-up is open
 * the user must exist, unconfirmed when the project asks for confirmation (its mail goes
 * to an .invalid address nobody receives); where it is closed GoTrue must refuse it.
 * The user is recorded for the cleanup as soon as it exists.
 */
export async function checkEmailSignup(p: Project, stack: string, tag: string, state: AuthState): Promise<Outcome> {
  const settings = authSettingsOf(p);
  const email = `probe-${tag}-signup@${probeDomain(stack)}`;
  const anon = client(p.apiUrl, p.anonKey);
  const { data, error } = await anon.auth.signUp({ email, password: randomBytes(18).toString("base64url"), options: { emailRedirectTo: settings.siteUrl } });
  if (data.user?.id) state.created.push({ id: data.user.id, email });
  if (!settings.emailSignup) {
    if (!error) return { ok: false, detail: `sign-up is closed in the stack file, yet ${email} was signed up` };
    return { ok: true, detail: `sign-up refused as declared (${error.status ?? "?"} ${error.code ?? error.message})` };
  }
  if (error || !data.user) return { ok: false, detail: `sign-up of ${email} failed: ${error ? `${error.status ?? ""} ${error.message}`.trim() : "no user returned"}` };
  const admin = client(p.apiUrl, p.serviceKey);
  const found = await admin.auth.admin.getUserById(data.user.id);
  if (found.error || !found.data.user) return { ok: false, detail: `${email} signed up, but the admin API does not find it: ${found.error?.message ?? "no user"}` };
  const confirmed = found.data.user.email_confirmed_at !== undefined && found.data.user.email_confirmed_at !== null;
  if (settings.emailConfirm && (confirmed || data.session !== null))
    return { ok: false, detail: `${email} was confirmed at sign-up, but the project asks for e-mail confirmation` };
  if (!settings.emailConfirm && (!confirmed || data.session === null)) return { ok: false, detail: `${email} was left unconfirmed, but the project confirms e-mail at sign-up` };
  return { ok: true, detail: `signed up ${email}: ${settings.emailConfirm ? "exists, unconfirmed until its link is followed" : "confirmed at once, with a session"}` };
}

/** One concrete URL a GoTrue allow-list pattern admits: `**` and `*` filled in. */
export function onListUrl(pattern: string, tag: string): string {
  return pattern.replaceAll("**", `probe/${tag}`).replaceAll("*", "probe");
}

/** Where GoTrue's verify endpoint sends a magic link's user, given a redirect_to. The link itself is never shown. */
async function verifyRedirect(p: Project, email: string, redirectTo: string): Promise<string> {
  const admin = client(p.apiUrl, p.serviceKey);
  const { data, error } = await admin.auth.admin.generateLink({ type: "magiclink", email, options: { redirectTo } });
  if (error || !data.properties?.action_link) throw new Error(`no magic link for ${email}: ${error?.message ?? "no action_link"}`);
  const res = await fetch(data.properties.action_link, { redirect: "manual" });
  const location = res.headers.get("location");
  if (res.status < 300 || res.status > 399 || location === null) throw new Error(`the verify link answered ${res.status}, not a redirect`);
  // Only where it goes: the fragment holds the session's tokens.
  return location.split("#")[0]!;
}

/**
 * The redirect allow-list as GoTrue applies it: a magic link (made with the admin API,
 * so no mail is sent) whose redirect_to is on the list lands there; one whose
 * redirect_to is off the list lands on the site URL instead.
 */
export async function checkRedirects(p: Project, tag: string, state: AuthState): Promise<Outcome> {
  const settings = authSettingsOf(p);
  const user = state.created[0];
  if (user === undefined) throw new Error("no probe user to send a magic link to");
  const first = settings.redirectUrls.find((u) => !u.includes("localhost") && !u.includes("127.0.0.1")) ?? settings.redirectUrls[0];
  const allowed = first !== undefined ? onListUrl(first, tag) : `${settings.siteUrl.replace(/\/$/, "")}/probe/${tag}`;
  const offList = `https://off-list-${tag}.invalid/probe`;
  const landed = await verifyRedirect(p, user.email, allowed);
  if (!landed.startsWith(allowed)) return { ok: false, detail: `redirect_to ${allowed} (on the allow-list) was not honoured: the link went to ${landed}` };
  const fellBack = await verifyRedirect(p, user.email, offList);
  if (fellBack.startsWith(offList)) return { ok: false, detail: `redirect_to ${offList} (off the allow-list) was honoured` };
  if (!fellBack.startsWith(settings.siteUrl.replace(/\/$/, ""))) return { ok: false, detail: `an off-list redirect_to went to ${fellBack}, not the site URL ${settings.siteUrl}` };
  return { ok: true, detail: `on-list ${allowed} honoured; off-list fell back to ${settings.siteUrl}` };
}

/**
 * A configured OAuth provider as a browser starts it: /auth/v1/authorize must redirect
 * to the provider carrying the project's client id and its callback URL.
 */
export async function checkAuthorize(p: Project, provider: { name: string; clientId: string }): Promise<Outcome> {
  const res = await fetch(`${p.apiUrl}/auth/v1/authorize?provider=${encodeURIComponent(provider.name)}`, { redirect: "manual" });
  const location = res.headers.get("location");
  if (res.status < 300 || res.status > 399 || location === null) return { ok: false, detail: `authorize answered ${res.status}, not a redirect to ${provider.name}` };
  const to = new URL(location);
  if (OAUTH1.has(provider.name)) {
    const token = to.searchParams.get("oauth_token");
    return token ? { ok: true, detail: `redirects to ${to.host}${to.pathname} with a request token (OAuth 1.0a)` } : { ok: false, detail: `redirects to ${to.host} without an oauth_token` };
  }
  const callback = new URL("/auth/v1/callback", p.apiUrl).toString();
  const clientId = to.searchParams.get("client_id");
  const redirectUri = to.searchParams.get("redirect_uri");
  if (clientId !== provider.clientId) return { ok: false, detail: `redirects to ${to.host} with client_id ${clientId ?? "(none)"}, not ${provider.clientId}` };
  if (redirectUri !== callback) return { ok: false, detail: `redirects to ${to.host} with redirect_uri ${redirectUri ?? "(none)"}, not ${callback}` };
  return { ok: true, detail: `redirects to ${to.host}${to.pathname} with our client id and ${callback}` };
}
