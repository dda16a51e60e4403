import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stableOrder, writeSnapshot } from "../../src/offline/write";
import { runDoc } from "../helpers/offline";
import { stackDoc } from "../helpers/stacks";

const out = mkdtempSync(join(tmpdir(), "supafleet-render-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe.each(["staging", "prod"])("the %s render", (stack) => {
  it("contains no secret value anywhere, and marks where secrets were", async () => {
    const snapshot = await runDoc(stack, stackDoc(stack));
    const written = writeSnapshot(snapshot, out);
    const root = written.dir;
    const files = filesUnder(root);
    expect(files.length).toBeGreaterThan(10);
    // The count the plan prints is what is on disk, and the index names every file.
    expect(written.files).toBe(files.length);
    const index = readFileSync(join(root, "INDEX.md"), "utf8");
    for (const f of files) expect(index, f).toContain(`| \`${f.slice(root.length + 1)}\` |`);
    // Mock secrets, the placeholders for secure config, and every secret stack output.
    expect(snapshot.secretValues.length).toBeGreaterThan(50);
    const leaks: string[] = [];
    for (const f of files) {
      const text = readFileSync(f, "utf8");
      for (const secret of snapshot.secretValues) if (text.includes(secret)) leaks.push(`${f}: ${secret.slice(0, 6)}…`);
    }
    expect(leaks).toEqual([]);
    expect(readFileSync(join(root, "nodes/master/cloud-init.yaml"), "utf8")).toContain("PrivateKey = <redacted:wireguardPrivateKey>");
    expect(readFileSync(join(root, "resources.json"), "utf8")).toContain('"userData": "[secret]"');
  });

  it("writes every server's boot data, the ingress, the tree and the inputs", async () => {
    const root = join(out, stack);
    const doc = stackDoc(stack) as { "supafleet:workers": { name: string }[] };
    for (const w of doc["supafleet:workers"]) expect(statSync(join(root, `nodes/${w.name}/cloud-init.yaml`)).size).toBeGreaterThan(1000);
    for (const f of ["nodes/master/cloud-init.yaml", "nodes/master/nftables.nft", "nodes/master/wireguard/peers.conf", "edge/ingress.yaml", "tree.txt", "counts.txt", "resources.json", "outputs.json"]) {
      expect(statSync(join(root, f)).size, f).toBeGreaterThan(0);
    }
  });
});

describe("resources.json", () => {
  it("lists resources by parent, then type and name, whatever order they registered in", () => {
    const r = (type: string, name: string, parent?: string) => ({ type, name, ...(parent !== undefined ? { parent } : {}) });
    const registered = [r("b:T", "x", "p::1"), r("a:T", "w"), r("a:T", "y", "p::1"), r("a:T", "v")];
    const expected = [r("a:T", "v"), r("a:T", "w"), r("a:T", "y", "p::1"), r("b:T", "x", "p::1")];
    expect(stableOrder(registered)).toEqual(expected);
    expect(stableOrder([...registered].reverse())).toEqual(expected);
  });
});
