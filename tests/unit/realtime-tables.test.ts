import { describe, expect, it } from "vitest";
import { diffSnapshots } from "../../src/offline/diff";
import type { Snapshot } from "../../src/offline/run";
import { runDoc } from "../helpers/offline";
import { clone, stackDoc } from "../helpers/stacks";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = Record<string, any>;

const prod = stackDoc("prod") as Doc;
const projectsOf = (doc: Doc): Doc[] => doc["supafleet:tenants"].flatMap((t: Doc) => t.projects ?? []);
/** prod's first tenant holds ops (msp-ops) then registry (tenant-registry, no Realtime). */
const withRealtime = (name: string, realtime: unknown): Doc => {
  const c = clone(prod);
  projectsOf(c).find((p) => p.name === name)!.realtime = realtime;
  return c;
};

describe("a project's Realtime tables (realtime.tables)", () => {
  let base: Snapshot;

  it("publishes what the project chose: only its own migrations change", async () => {
    base = await runDoc("prod", prod);
    expect(base.error).toBeUndefined();
    const changes = diffSnapshots(base, await runDoc("prod", withRealtime("ops", { tables: ["tickets", "clientes"] })));
    expect(changes.map((c) => [c.name, c.kind])).toEqual([["ops-rls-migrations", "update"]]);
  });

  it.each([
    ["a table of no pack of the project", "ops", { tables: ["invoices"] }, "tenants[0].projects[0].realtime.tables[0]: invoices is not a table of this project's schema packs (msp-ops); publishable: clientes, sitios, dispositivos, tickets"],
    ["a service table", "ops", { tables: ["outbox"] }, "tenants[0].projects[0].realtime.tables[0]: outbox cannot be published: Realtime sends whole rows"],
    ["a table listed twice", "ops", { tables: ["tickets", "tickets"] }, "tenants[0].projects[0].realtime.tables[1]: lists tickets twice"],
    ["a project without Realtime", "registry", { tables: ["tenants"] }, "tenants[0].projects[1].realtime.tables: the project runs no Realtime (services.realtime: false)"],
  ])("refuses %s, by its path", async (_what, project, realtime, message) => {
    const run = await runDoc("prod", withRealtime(project, realtime));
    expect(run.error).toContain(message);
  });
});
