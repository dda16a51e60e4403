import { beforeAll, describe, expect, it } from "vitest";
import { diffSnapshots, type Change } from "../../src/offline/diff";
import type { Snapshot } from "../../src/offline/run";
import { runDoc } from "../helpers/offline";
import { clone, stackDoc } from "../helpers/stacks";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = Record<string, any>;

const names = (changes: Change[], kind: Change["kind"]): string[] => changes.filter((c) => c.kind === kind).map((c) => c.name).sort();

/** prod with a Zero Trust team (the console needs one) and the console on or off. */
function prod(console: boolean): Doc {
  const c = clone(stackDoc("prod")) as Doc;
  c["supafleet:cloudflare"] = { ...c["supafleet:cloudflare"], teamName: "techhilfepro" };
  if (console) c["supafleet:console"] = { enabled: true };
  return c;
}

describe("the blast radius of the operator console in prod", () => {
  let without: Snapshot;
  let withConsole: Snapshot;
  let workers: string[];

  beforeAll(async () => {
    // One after the other: the mock runtime is global.
    without = await runDoc("prod", prod(false));
    withConsole = await runDoc("prod", prod(true));
    expect(without.error).toBeUndefined();
    expect(withConsole.error).toBeUndefined();
    workers = (withConsole.resources as { type: string; name: string }[]).filter((r) => r.type === "supafleet:index:WorkerNode").map((r) => r.name).sort();
    expect(workers.length).toBeGreaterThan(1);
  });

  it("adds the console on the master, its hostname (record and Access app) and an agent on every worker, and replaces or deletes nothing", () => {
    const changes = diffSnapshots(without, withConsole);
    expect(names(changes, "replace")).toEqual([]);
    expect(names(changes, "delete")).toEqual([]);
    const agents = workers.flatMap((w) => [`${w}-agent`, `${w}-agent-install`, `${w}-agent-key`]);
    expect(names(changes, "create")).toEqual(["console", "console-install", "console-keys", "edge-app-console", "edge-dns-console", ...agents].sort());
  });

  it("updates only the tunnel's ingress (the console's rule), the master's firewall, and each worker's health agent (its report URL)", () => {
    const updates = diffSnapshots(without, withConsole).filter((c) => c.kind === "update");
    expect(updates.map((u) => u.name).sort()).toEqual(["edge-config", "master-hub-sync", ...workers.map((w) => `${w}-health-agent`)].sort());
    expect(updates.find((u) => u.name === "edge-config")!.paths).toEqual(["config.ingresses[console.techhilfepro.de]"]);
  });

  it("puts the console behind its own Access app, which cloudflared checks too, and gives the console that app's audience to verify", () => {
    const byName = (n: string) => withConsole.resources.find((r) => r.name === n)!;
    const app = byName("edge-app-console");
    expect(app.inputs).toMatchObject({ domain: "console.techhilfepro.de", type: "self_hosted" });
    const aud = app.outputs.aud as string;
    expect(aud).toBeTruthy();
    const ingresses = (byName("edge-config").inputs.config as { ingresses: { hostname?: string; originRequest?: unknown }[] }).ingresses;
    expect(ingresses.find((i) => i.hostname === "console.techhilfepro.de")!.originRequest).toEqual({ access: { required: true, teamName: "techhilfepro", audTags: [aud] } });
    const fleet = JSON.parse(withConsole.files.find((f) => f.path === "console/fleet.json")!.content);
    expect(fleet.access).toEqual({ teamName: "techhilfepro", aud });
  });
});
