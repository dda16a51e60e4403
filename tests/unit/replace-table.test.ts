import { describe, expect, it } from "vitest";
import { diffSnapshots } from "../../src/offline/diff";
import { forcesReplace, REPLACE_ON } from "../../src/offline/replaceOn";
import type { Snapshot } from "../../src/offline/run";
import { runDoc } from "../helpers/offline";
import { stackDoc } from "../helpers/stacks";

/**
 * The offline diff calls a change a replace only where src/offline/replaceOn.ts
 * says the provider would. A type missing there would show every change to it as
 * an update, so the diff could hide a replacement: the program may register no
 * type the table does not know.
 */
describe("the offline diff's replace table", () => {
  const snapshots: Snapshot[] = [];

  it("renders both stacks", async () => {
    for (const stack of ["staging", "prod"]) snapshots.push(await runDoc(stack, stackDoc(stack)));
    expect(snapshots.map((s) => s.error)).toEqual([undefined, undefined]);
  });

  it("knows every provider resource type the program registers", () => {
    const types = [...new Set(snapshots.flatMap((s) => s.resources.filter((r) => r.custom).map((r) => r.type)))].sort();
    expect(types.length).toBeGreaterThan(10);
    expect(types.filter((t) => REPLACE_ON[t] === undefined)).toEqual([]);
  });

  it("leaves out only components, which carry no inputs for the diff to compare", () => {
    const components = snapshots.flatMap((s) => s.resources.filter((r) => !r.custom));
    expect(components.length).toBeGreaterThan(0);
    for (const c of components) expect({ [c.key]: c.inputs }).toEqual({ [c.key]: {} });
    expect(Object.keys(REPLACE_ON).filter((t) => t.startsWith("supafleet:"))).toEqual([]);
  });

  it("lists, for every type, the inputs that force a replacement or why none does", () => {
    for (const [type, entry] of Object.entries(REPLACE_ON)) {
      if ("none" in entry) expect(entry.none.length, type).toBeGreaterThan(20);
      else for (const input of entry) expect(input, type).toMatch(/^(\*|[a-z][A-Za-z]*)$/);
    }
  });

  it("calls a change to one of those inputs a replace, and any other change an update", () => {
    expect(forcesReplace("hcloud:index/server:Server", ["userData"])).toBe(true);
    expect(forcesReplace("hcloud:index/server:Server", ["labels.role", "serverType"])).toBe(false);
    expect(forcesReplace("cloudflare:index/dnsRecord:DnsRecord", ["zoneId"])).toBe(true);
    expect(forcesReplace("command:remote:Command", ["stdin"])).toBe(false);
    expect(forcesReplace("command:remote:Command", ["triggers[0]"])).toBe(true);
    expect(forcesReplace("random:index/randomPassword:RandomPassword", ["keepers.round"])).toBe(true);
    expect(forcesReplace("pulumi:pulumi:StackReference", ["name"])).toBe(false);
    expect(forcesReplace("random:index/randomPassword:RandomPassword", [])).toBe(false);
  });

  it("and the diff uses it: a moved storage box is a replace, a renamed one an update", () => {
    const prod = snapshots[1]!;
    const withBox = (inputs: Record<string, unknown>): Snapshot => ({
      ...prod,
      resources: prod.resources.map((r) => (r.type === "hcloud:index/storageBox:StorageBox" ? { ...r, inputs: { ...r.inputs, ...inputs } } : r)),
    });
    const kinds = (s: Snapshot): string[] => diffSnapshots(prod, s).map((c) => `${c.kind} ${c.name}`);
    expect(kinds(withBox({ location: "hel1" }))).toEqual(["replace backups-storage-box"]);
    expect(kinds(withBox({ name: "renamed" }))).toEqual(["update backups-storage-box"]);
  });
});
