import { describe, expect, it } from "vitest";
import { SERVICES, type ServiceName } from "../../src/model/services";
import { kongConfig, type KongRoute } from "../../src/supabase/kong";

/**
 * A custom domain reaches the same gateway as the project's API hostname, with the client's Host
 * header (cloudflared keeps it). Kong matches a route with `hosts` only for those hosts and a route
 * without them for any host, so this is what decides what a custom domain can reach.
 */
const STUDIO = "crm-studio.example.org";
const keys = { anonKey: "eyJ.anon", serviceRoleKey: "eyJ.service", dashboardPassword: "pw" };
const routes = (services: readonly ServiceName[]): (KongRoute & { service: string })[] =>
  kongConfig(keys, { services, studioHostname: STUDIO }).services.flatMap((s) => s.routes.map((r) => ({ ...r, service: s.name })));

describe("the gateway behind a custom domain", () => {
  it("routes the API by path on any host: no API route names a host", () => {
    const api = routes(SERVICES).filter((r) => r.service !== "dashboard");
    expect(api.map((r) => r.service)).toEqual(expect.arrayContaining(["auth-v1", "rest-v1", "graphql-v1", "realtime-v1-ws", "storage-v1", "functions-v1", "meta"]));
    for (const r of api) expect(r.hosts, r.name).toBeUndefined();
  });

  it("keeps Studio (on the worker) to its own hostname: its only route names that host alone", () => {
    const hosted = routes(SERVICES).filter((r) => r.hosts !== undefined);
    expect(hosted).toEqual([{ name: "dashboard-all", strip_path: true, paths: ["/"], hosts: [STUDIO], service: "dashboard" }]);
  });

  it("has no Studio route at all when Studio runs on the master", () => {
    expect(routes(SERVICES.filter((s) => s !== "studio")).some((r) => r.service === "dashboard" || r.hosts !== undefined)).toBe(false);
  });
});
