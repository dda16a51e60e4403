import { randomBytes, randomUUID } from "node:crypto";

/**
 * The part of the probe's GoTrue stand-in that plays a project's own Auth
 * settings: e-mail sign-up (open or closed, confirmed or not), admin magic
 * links and /verify's redirect through the allow-list, and /authorize's
 * redirect to a provider. A FAKE, written from GoTrue's documented behaviour:
 * it shows that the probe's checks pass and fail as they should, not that
 * GoTrue behaves so; the probe against a real stack shows that.
 */
export interface GoTrueSettings {
  siteUrl: string;
  redirectUrls: string[];
  emailSignup: boolean;
  emailConfirm: boolean;
  providers: { name: string; clientId: string }[];
}

/** Each a way the real thing could be misconfigured, for the probe to catch. */
export interface GoTrueSettingsModes {
  /** confirm-anyway: sign-up confirms at once although the project asks for confirmation. */
  signup: "ok" | "confirm-anyway";
  /** open: /verify follows any redirect_to, on the list or not. */
  redirects: "ok" | "open";
  /** wrong-callback: /authorize sends the provider a callback on another host. */
  authorize: "ok" | "wrong-callback";
}

export interface StandInUser {
  id: string;
  email: string;
  password: string;
  app_metadata: Record<string, unknown>;
  /** False for a signed-up user still waiting for its confirmation link. */
  confirmed?: boolean;
}

export interface Answer {
  status: number;
  body?: unknown;
  location?: string;
}

const NORMAL_MODES: GoTrueSettingsModes = { signup: "ok", redirects: "ok", authorize: "ok" };

/** GoTrue's allow-list globs: `**` any characters, `*` any but `.` and `/`; the site URL's host is always allowed. */
export function isRedirectAllowed(s: GoTrueSettings, target: string): boolean {
  const url = new URL(target);
  if (url.hostname === new URL(s.siteUrl).hostname) return true;
  const bare = `${url.origin}${url.pathname}`;
  return s.redirectUrls.some((p) => {
    const rx = p.split("**").map((part) => part.split("*").map((t) => t.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^./]*")).join(".*");
    return new RegExp(`^${rx}$`).test(bare);
  });
}

export class GoTrueSettingsStandIn {
  settings: GoTrueSettings;
  modes: GoTrueSettingsModes = { ...NORMAL_MODES };
  private readonly links = new Map<string, string>();

  constructor(private readonly base: () => string) {
    this.settings = this.defaults();
  }

  /** What a project that declares no Auth settings gets: its API URL as the site URL, no allow-list, no provider. */
  private defaults(): GoTrueSettings {
    return { siteUrl: this.base(), redirectUrls: [], emailSignup: true, emailConfirm: true, providers: [] };
  }

  reset(): void {
    this.settings = this.defaults();
    this.modes = { ...NORMAL_MODES };
    this.links.clear();
  }

  /** Answers one request about these settings; undefined for any other path. `role` throws 401 as the stand-in does. */
  handle(method: string, url: URL, body: () => Record<string, unknown>, role: () => string, users: Map<string, StandInUser>, userJson: (u: StandInUser) => object): Answer | undefined {
    const path = url.pathname;
    const s = this.settings;
    let m: RegExpExecArray | null;
    if (path === "/auth/v1/signup" && method === "POST") {
      role();
      if (!s.emailSignup) return { status: 422, body: { code: 422, error_code: "signup_disabled", msg: "Signups not allowed for this instance" } };
      const b = body();
      const confirmed = !s.emailConfirm || this.modes.signup === "confirm-anyway";
      const user: StandInUser = { id: randomUUID(), email: String(b.email), password: String(b.password), app_metadata: { provider: "email", providers: ["email"] }, confirmed };
      users.set(user.id, user);
      if (!confirmed) return { status: 200, body: userJson(user) };
      return { status: 200, body: { access_token: randomBytes(16).toString("hex"), token_type: "bearer", expires_in: 3600, refresh_token: randomBytes(8).toString("hex"), user: userJson(user) } };
    }
    if ((m = /^\/auth\/v1\/admin\/users\/([\w-]+)$/.exec(path)) && method === "GET") {
      if (role() !== "service_role") return { status: 403, body: { msg: "service_role required" } };
      const u = users.get(m[1]!);
      return u ? { status: 200, body: userJson(u) } : { status: 404, body: { code: "user_not_found", msg: "User not found" } };
    }
    if (path === "/auth/v1/admin/generate_link" && method === "POST") {
      if (role() !== "service_role") return { status: 403, body: { msg: "service_role required" } };
      const b = body();
      const user = [...users.values()].find((u) => u.email === b.email);
      if (!user) return { status: 404, body: { code: "user_not_found", msg: "User not found" } };
      const redirectTo = String(b.redirect_to ?? url.searchParams.get("redirect_to") ?? s.siteUrl);
      const token = randomBytes(12).toString("hex");
      this.links.set(token, user.id);
      const action = `${this.base()}/auth/v1/verify?token=${token}&type=magiclink&redirect_to=${encodeURIComponent(redirectTo)}`;
      return { status: 200, body: { ...userJson(user), action_link: action, email_otp: "123456", hashed_token: token, redirect_to: redirectTo, verification_type: "magiclink" } };
    }
    if (path === "/auth/v1/verify" && method === "GET") {
      const id = this.links.get(url.searchParams.get("token") ?? "");
      if (id === undefined) return { status: 303, location: `${s.siteUrl}#error=access_denied&error_code=otp_expired` };
      this.links.delete(url.searchParams.get("token")!);
      const asked = url.searchParams.get("redirect_to") ?? s.siteUrl;
      const to = this.modes.redirects === "open" || isRedirectAllowed(s, asked) ? asked : s.siteUrl;
      return { status: 303, location: `${to}#access_token=${randomBytes(8).toString("hex")}&token_type=bearer&type=magiclink` };
    }
    if (path === "/auth/v1/authorize" && method === "GET") {
      const provider = s.providers.find((p) => p.name === url.searchParams.get("provider"));
      if (!provider) return { status: 400, body: { code: 400, error_code: "validation_failed", msg: `Unsupported provider: Provider ${url.searchParams.get("provider")} could not be found` } };
      // OAuth 1.0a: GoTrue fetches a request token with the consumer key and sends the browser that.
      if (provider.name === "twitter") return { status: 302, location: `https://api.twitter.com/oauth/authenticate?oauth_token=${randomBytes(8).toString("hex")}` };
      const callback = this.modes.authorize === "wrong-callback" ? "https://elsewhere.example/auth/v1/callback" : `${this.base()}/auth/v1/callback`;
      const q = new URLSearchParams({ client_id: provider.clientId, redirect_uri: callback, response_type: "code", state: randomBytes(8).toString("hex") });
      return { status: 302, location: `https://${provider.name}.provider.example/oauth/authorize?${q.toString()}` };
    }
    return undefined;
  }
}
