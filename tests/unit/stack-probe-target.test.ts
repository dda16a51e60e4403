import { describe, expect, it } from "vitest";
import { ProbeTargetSchema } from "../../src/probe/target";
import { tenantUuid } from "../../src/rls/tenants";
import { runDoc } from "../helpers/offline";
import { clone, stackDoc } from "../helpers/stacks";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = Record<string, any>;

describe("the probeTarget stack output", () => {
  it("describes prod as the probe needs it: every project with its keys and tenants, every host, Kuma's fleet page; keys as secrets", async () => {
    const doc = stackDoc("prod") as Doc;
    const s = await runDoc("prod", doc);
    expect(s.error).toBeUndefined();
    const raw = s.outputs.probeTarget as Doc;
    // The keys are secrets of their own; everything else reads in the clear.
    for (const p of raw.projects) expect([p.anonKey, p.serviceKey]).toEqual(["[secret]", "[secret]"]);
    const target = ProbeTargetSchema.parse(raw);
    const projects = (doc["supafleet:tenants"] as Doc[]).flatMap((t) => (t.projects ?? []).map((p: Doc) => p.name));
    expect(target.projects.map((p) => p.name).sort()).toEqual([...projects].sort());
    // A pool lists its owner first, then every pooled tenant, with the ids the seed rows carry.
    const pooled = (doc["supafleet:tenants"] as Doc[]).filter((t) => t.isolation === "pooled");
    expect(pooled.length).toBeGreaterThan(0);
    for (const t of pooled) {
      const pool = target.projects.find((p) => p.name === t.pool)!;
      expect(pool.tenants).toContainEqual({ slug: t.slug, id: tenantUuid(t.slug) });
      expect(pool.tenants.length).toBeGreaterThan(1);
    }
    expect(target.hosts.workers.map((w) => w.name).sort()).toEqual(Object.keys(s.outputs.workers as object).sort());
    expect(target.kuma).toEqual({ url: "http://10.100.0.1:3001", statusPages: ["supafleet-fleet"] });
    expect(target.accessProtected).toEqual(["https://n8n.techhilfepro.de/", "https://status.techhilfepro.de/"]);
  });

  it("says which services each project runs, as its stack file chose them: registry has no Realtime and no functions to call", async () => {
    const doc = clone(stackDoc("prod")) as Doc;
    // One project without Storage besides: its target must say so for the probe to look for its missing route.
    const chat = (doc["supafleet:tenants"] as Doc[]).flatMap((t) => t.projects ?? []).find((p: Doc) => p.name === "smarteros-chat");
    chat.services = { storage: false, imgproxy: false };
    const s = await runDoc("prod", doc);
    expect(s.error).toBeUndefined();
    const target = ProbeTargetSchema.parse(s.outputs.probeTarget);
    const of = (name: string) => target.projects.find((p) => p.name === name)!;
    expect(of("registry")).toMatchObject({ services: { realtime: false, storage: true, functions: false }, functions: [] });
    expect(of("smarteros-chat")).toMatchObject({ services: { realtime: true, storage: false, functions: true }, functions: ["hello"] });
    expect(of("ops")).toMatchObject({ services: { realtime: true, storage: true, functions: true }, functions: ["hello"] });
    // Every Studio is still checked to be behind Access without a token, wherever it runs.
    expect(of("praxis").studioUrl).toBe("https://praxis-studio.techhilfepro.de");
    expect(of("ops").studioUrl).toBe("https://ops-studio.techhilfepro.de");
  });
});
