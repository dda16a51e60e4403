import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT, clone, stackDoc } from "../helpers/stacks";

const work = mkdtempSync(join(tmpdir(), "supafleet-cli-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function plan(args: string[], cwd = ROOT): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, "node_modules/tsx/dist/cli.mjs"), join(ROOT, "scripts/plan.ts"), ...args], { cwd, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("npm run plan", () => {
  it("prints the tree and counts and fills out/<env>/", () => {
    const out = join(work, "out");
    const r = plan(["--stack", "staging", "--out", out]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("== staging: resource tree");
    expect(r.stdout).toMatch(/├─ master {2}\(supafleet:index:MasterNode\)/);
    // One spelling of a type everywhere: the tree, the counts and the diff use `pulumi preview`'s.
    expect(r.stdout).toMatch(/hcloud:index:Server\s+3\n/);
    expect(r.stdout).toMatch(/master-hub-sync {2}\(command:remote:Command\)/);
    expect(r.stdout).toMatch(/command:remote:Command\s+\d+\n/);
    expect(r.stdout).not.toMatch(/command:Command|index\/\w+:/);
    expect(existsSync(join(out, "staging/nodes/w1/cloud-init.yaml"))).toBe(true);
    expect(r.stdout).toMatch(/staging: \d+ resources; \d+ files written to .*staging\/ \(INDEX\.md says what each is\)/);
  });

  it("on bad config names every problem, exits 1 and shows no stack trace", () => {
    const c = clone(stackDoc("prod")) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    c["supafleet:tenants"][3].projects[1].subdomain = "smarteros";
    c["supafleet:workers"][1].address = "10.200.0.3";
    writeFileSync(join(work, "Pulumi.broken.yaml"), stringify({ config: c }));
    const r = plan(["--stack", "broken", "--out", join(work, "out")], work);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("Pulumi.broken.yaml has 2 problems; nothing was deployed.");
    expect(r.stderr).toContain("tenants[3].projects[1].subdomain");
    expect(r.stderr).toContain("workers[1].address: 10.200.0.3 is outside the WireGuard subnet");
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(existsSync(join(work, "out/broken"))).toBe(false);
  });

  it("--diff shows the blast radius of a change against another stack file", () => {
    const c = clone(stackDoc("staging")) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    c["supafleet:tenants"][2].projects.push({ name: "smarteros-b", subdomain: "smarteros-b", slot: 9, placement: { worker: "w1" } });
    writeFileSync(join(work, "Pulumi.staging.yaml"), stringify({ config: c }));
    const r = plan(["--stack", "staging", "--out", join(work, "out"), "--diff", join(ROOT, "Pulumi.staging.yaml")], work);
    expect(r.status).toBe(0);
    // The diff comes first; the tree stays in out/, named on the last line.
    expect(r.stdout.split("\n")[0]).toMatch(/^### supafleet plan diff: staging \(/);
    expect(r.stdout).toMatch(/\*\*\d+ to create · 3 to update · 0 to replace · 0 to delete\*\*/);
    expect(r.stdout).toContain("+ create  supafleet:index:SupabaseProject  smarteros-b");
    expect(r.stdout).toContain("~ update  cloudflare:index:ZeroTrustTunnelCloudflaredConfig  edge-config");
    expect(r.stdout).not.toContain("resource tree");
    expect(r.stdout.trimEnd().split("\n").at(-1)).toMatch(/^staging: \d+ resources; \d+ files written to /);
  });

  it("--diff with a ref that does not exist fails at once, before rendering anything", () => {
    const out = join(work, "out-badref");
    const r = plan(["--stack", "staging", "--out", out, "--diff", "no-such-branch"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--diff no-such-branch: neither a file nor a git ref");
    expect(existsSync(out)).toBe(false);
  });

  it("--diff takes a git ref: the committed stack file against itself changes nothing", () => {
    const committed = spawnSync("git", ["show", "HEAD:Pulumi.staging.yaml"], { cwd: ROOT, encoding: "utf8" }).stdout;
    writeFileSync(join(work, "Pulumi.staging.yaml"), committed);
    // Staging reads prod's outputs (its drill of prod); offline, prod's stack file says what they hold.
    writeFileSync(join(work, "Pulumi.prod.yaml"), readFileSync(join(ROOT, "Pulumi.prod.yaml")));
    const git = (args: string[]): void => void spawnSync("git", args, { cwd: work });
    git(["init", "-q"]);
    git(["add", "Pulumi.staging.yaml"]);
    git(["-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "base"]);
    const r = plan(["--stack", "staging", "--out", join(work, "out"), "--quiet", "--diff", "HEAD"], work);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("supafleet plan diff: staging (HEAD:Pulumi.staging.yaml → Pulumi.staging.yaml)");
    expect(r.stdout).toContain("No resource changes.");
  });

  it("--diff against a base that does not validate says so and exits 1, rather than showing every resource as new", () => {
    const base = clone(stackDoc("staging")) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    base["supafleet:workers"][0].address = "10.200.0.3";
    writeFileSync(join(work, "Pulumi.base-broken.yaml"), stringify({ config: base }));
    writeFileSync(join(work, "Pulumi.staging.yaml"), stringify({ config: stackDoc("staging") }));
    const r = plan(["--stack", "staging", "--out", join(work, "out"), "--quiet", "--diff", join(work, "Pulumi.base-broken.yaml")], work);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`the base (${join(work, "Pulumi.base-broken.yaml")}) does not validate`);
    expect(r.stderr).toContain("workers[0].address: 10.200.0.3 is outside the WireGuard subnet");
    expect(r.stdout).not.toContain("supafleet plan diff");
  });

  it("refuses an unknown flag with its usage", () => {
    const r = plan(["--stak", "prod"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("usage: npm run plan");
  });
});
