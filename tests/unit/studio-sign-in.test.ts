import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import type { ResourceNode, Snapshot } from "../../src/offline/run";
import { isSecretEnvelope } from "../../src/offline/secretEnvelope";
import { DASHBOARD_USERNAME } from "../../src/supabase/env";
import { kongConfig, type KongConfig } from "../../src/supabase/kong";
import { runDoc } from "../helpers/offline";
import { clone, stackDoc } from "../helpers/stacks";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = Record<string, any>;

const TYPE = {
  config: "cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig",
  app: "cloudflare:index/zeroTrustAccessApplication:ZeroTrustAccessApplication",
};
const STUDIO = "praxis-studio.techhilfepro.de";
const keys = { anonKey: "anon", serviceRoleKey: "service", dashboardPassword: "dashboard-password" };
const services = ["db", "auth", "rest", "meta", "studio"] as const;

const dashboard = (k: KongConfig): Doc => k.services.find((s) => s.name === "dashboard")!;
const pluginNames = (s: Doc): string[] => (s.plugins ?? []).map((p: Doc) => p.name);

/** The kong.yml a project's config command writes, read back from its secret payload. */
function kongOf(s: Snapshot, project: string): KongConfig {
  const stdin = s.resources.find((r) => r.name === `${project}-config`)!.inputs.stdin;
  expect(isSecretEnvelope(stdin)).toBe(true);
  return parse((JSON.parse((stdin as { value: string }).value) as { kong: string }).kong) as KongConfig;
}
const ingressesOf = (s: Snapshot): Doc[] => (s.resources.find((r) => r.type === TYPE.config)!.inputs.config as Doc).ingresses;
const appFor = (s: Snapshot, hostname: string): ResourceNode => s.resources.find((r) => r.type === TYPE.app && r.inputs.domain === hostname)!;

describe("Kong's Studio route", () => {
  it("asks for the dashboard password unless cloudflared checks Access's JWT, and then holds no password at all", () => {
    const kept = kongConfig(keys, { services: [...services], studioHostname: STUDIO });
    expect(pluginNames(dashboard(kept))).toEqual(["cors", "basic-auth"]);
    expect(kept.consumers.find((c) => c.username === "DASHBOARD")?.basicauth_credentials).toEqual([{ username: DASHBOARD_USERNAME, password: "dashboard-password" }]);

    const checked = kongConfig(keys, { services: [...services], studioHostname: STUDIO, studioAccessChecked: true });
    expect(pluginNames(dashboard(checked))).toEqual(["cors"]);
    expect(dashboard(checked).routes).toEqual(dashboard(kept).routes);
    expect(checked.consumers.map((c) => c.username)).toEqual(["anon", "service_role"]);
    expect(JSON.stringify(checked)).not.toContain("dashboard-password");
    // Nothing else moves: pg-meta still takes the service key only.
    expect(checked.services.filter((s) => s.name !== "dashboard")).toEqual(kept.services.filter((s) => s.name !== "dashboard"));
  });
});

describe("one sign-in for prod's Studio on a worker (praxis)", () => {
  let plain: Snapshot;
  let team: Snapshot;
  beforeAll(async () => {
    plain = await runDoc("prod", stackDoc("prod"));
    const doc = clone(stackDoc("prod")) as Doc;
    doc["supafleet:cloudflare"] = { ...doc["supafleet:cloudflare"], teamName: "techhilfepro" };
    team = await runDoc("prod", doc);
  });

  it("with cloudflare.teamName: every Studio hostname's ingress requires Access with its own application's audience", () => {
    const studios = ingressesOf(team).filter((r) => /-studio\./.test(r.hostname ?? ""));
    expect(studios.length).toBeGreaterThan(3);
    const auds = new Set<string>();
    for (const r of studios) {
      const aud = appFor(team, r.hostname).outputs.aud as string;
      expect(r.originRequest, r.hostname).toEqual({ access: { required: true, teamName: "techhilfepro", audTags: [aud] } });
      auds.add(aud);
    }
    expect(auds.size).toBe(studios.length);
  });

  it("with cloudflare.teamName: Kong serves praxis's Studio without basic-auth, and keeps no dashboard credential", () => {
    const kong = kongOf(team, "praxis");
    expect(dashboard(kong).routes[0].hosts).toEqual([STUDIO]);
    expect(pluginNames(dashboard(kong))).not.toContain("basic-auth");
    expect(kong.consumers.some((c) => c.username === "DASHBOARD")).toBe(false);
  });

  it("without it (prod as committed): cloudflared checks nothing itself, so the password stays", () => {
    expect(ingressesOf(plain).filter((r) => r.originRequest !== undefined)).toEqual([]);
    const kong = kongOf(plain, "praxis");
    expect(pluginNames(dashboard(kong))).toContain("basic-auth");
    expect(kong.consumers.some((c) => c.username === "DASHBOARD")).toBe(true);
  });
});
