import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { isSecretEnvelope } from "../../src/offline/secretEnvelope";
import { runDoc } from "../helpers/offline";
import { stackDoc } from "../helpers/stacks";

const dir = mkdtempSync(join(tmpdir(), "supafleet-cloud-init-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The real `cloud-init schema` from Debian's cloud-init package. */
function schema(doc: string, name: string): { status: number | null; output: string } {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, doc);
  const r = spawnSync("cloud-init", ["schema", "-c", file], { encoding: "utf8" });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe("boot data against `cloud-init schema`", () => {
  it("refuses a broken document, so a pass means something", () => {
    const r = schema("#cloud-config\npackage_update: sometimes\nwrite_files:\n  - content: x\n", "broken");
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/package_update|write_files/);
  });

  for (const stack of ["staging", "prod"]) {
    it(`every ${stack} server's boot data is valid and carries what it relies on`, async () => {
      const snapshot = await runDoc(stack, stackDoc(stack));
      const servers = snapshot.resources.filter((r) => r.type === "hcloud:index/server:Server");
      expect(servers.length).toBeGreaterThan(2);
      for (const s of servers) {
        const envelope = s.inputs.userData;
        expect(isSecretEnvelope(envelope), s.name).toBe(true);
        const doc = (envelope as { value: string }).value;
        const r = schema(doc, s.name);
        expect(r.output, s.name).toContain("Valid cloud-config");
        expect(r.status, s.name).toBe(0);
        // Unknown top-level keys pass the schema, so check the ones the design relies on.
        const parsed = parse(doc) as Record<string, unknown>;
        for (const k of ["packages", "write_files", "runcmd", "ssh_pwauth", "package_upgrade"]) expect(parsed, `${s.name}: ${k}`).toHaveProperty(k);
        expect(parsed.ssh_pwauth).toBe(false);
      }
    });
  }
});
