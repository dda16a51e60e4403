import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { COMMENT_MARKER, renderPlanComment } from "../../src/offline/comment";
import { ROOT, clone, stackDoc } from "../helpers/stacks";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = Record<string, any>;

const work = mkdtempSync(join(tmpdir(), "supafleet-comment-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Step {
  name?: string;
  run?: string;
  uses?: string;
  with?: Record<string, string>;
}
const workflow = parse(readFileSync(join(ROOT, ".github/workflows/preview.yml"), "utf8")) as { jobs: Record<string, { steps: Step[] }> };
const steps = workflow.jobs.plan!.steps;

describe("the pull request's plan comment", () => {
  const planStep = steps.find((s) => s.run?.includes("npm run plan"))!;
  const args = planStep.run!.split("npm run plan --silent --")[1]!.trim().match(/"[^"]*"|\S+/g)!.map((a) => a.replace(/^"|"$/g, ""));
  const commentFile = args[args.indexOf("--comment") + 1]!;

  it("is what the plan step writes and what the comment step posts", () => {
    expect(args).toEqual(expect.arrayContaining(["--diff", "--comment"]));
    const post = steps.find((s) => s.uses?.startsWith("actions/github-script"))!;
    expect(post.with!.script).toContain(`readFileSync("${commentFile}"`);
    // The step finds its earlier comment by the body's first line, the marker.
    expect(post.with!.script).toContain('body.split("\\n")[0]');
  });

  it("opens with each stack's diff summary and its warnings; the trees come after, collapsed", () => {
    // A repository whose base has both stacks; the change removes a worker's project from prod and adds one to staging.
    const git = (a: string[]): void => void spawnSync("git", a, { cwd: work });
    for (const f of ["Pulumi.staging.yaml", "Pulumi.prod.yaml"]) copyFileSync(join(ROOT, f), join(work, f));
    git(["init", "-q", "-b", "main"]);
    git(["add", "."]);
    git(["-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "base"]);
    const prod = clone(stackDoc("prod")) as Doc;
    prod["supafleet:tenants"] = prod["supafleet:tenants"].filter((t: Doc) => t.slug !== "praxis-mueller");
    prod["supafleet:workers"] = prod["supafleet:workers"].filter((w: Doc) => w.name !== "w3");
    writeFileSync(join(work, "Pulumi.prod.yaml"), stringify({ config: prod }));
    const staging = clone(stackDoc("staging")) as Doc;
    staging["supafleet:tenants"][2].projects.push({ name: "smarteros-b", subdomain: "smarteros-b", slot: 9, placement: { worker: "w1" } });
    writeFileSync(join(work, "Pulumi.staging.yaml"), stringify({ config: staging }));

    const ciArgs = args.map((a) => (a.startsWith("origin/") ? "main" : a));
    const r = spawnSync(process.execPath, [join(ROOT, "node_modules/tsx/dist/cli.mjs"), join(ROOT, "scripts/plan.ts"), "--out", join(work, "out"), ...ciArgs], { cwd: work, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const body = readFileSync(join(work, commentFile), "utf8");
    const lines = body.split("\n");

    expect(lines[0]).toBe(COMMENT_MARKER);
    expect(lines[1]).toBe("## supafleet offline plan");
    expect(lines[3]).toBe("### supafleet plan diff: prod (main:Pulumi.prod.yaml → Pulumi.prod.yaml)");
    expect(lines[5]).toMatch(/^\*\*0 to create · 4 to update · 0 to replace · \d+ to delete\*\*$/);
    // The project left without being retired: its protected backup credentials would go, so Pulumi would refuse.
    expect(lines[7]).toMatch(/^> ⛔ This change would delete or replace \d+ protected resource\(s\): `pulumi up` will refuse it/);
    expect(lines[8]).toMatch(/add it to `backups.retired`/);
    expect(lines[10]).toMatch(/^> ⚠️ This change replaces or deletes existing resources/);
    expect(lines[12]).toBe("```diff");
    expect(lines[13]).toMatch(/^- delete {2}\S+/);
    const staged = lines.indexOf("### supafleet plan diff: staging (main:Pulumi.staging.yaml → Pulumi.staging.yaml)");
    expect(staged).toBeGreaterThan(13);
    expect(lines[staged + 2]).toMatch(/^\*\*\d+ to create · 3 to update · 0 to replace · 0 to delete\*\*$/);

    // Every tree line is inside the collapsed block, after every diff.
    const details = lines.findIndex((l) => l.startsWith("<details>"));
    expect(details).toBeGreaterThan(staged);
    expect(lines[details]).toMatch(/^<details><summary>Resource trees \(prod: \d+ resources, staging: \d+ resources\)<\/summary>$/);
    expect(lines.findIndex((l) => l.includes("(supafleet:index:MasterNode)"))).toBeGreaterThan(details);
    expect(body.length).toBeLessThan(65_536);
  });

  it("drops the trees, never the diff, when the comment would be too long for GitHub", () => {
    const diff = "### supafleet plan diff: prod (main → head)\n\n**1 to create · 0 to update · 0 to replace · 0 to delete**\n";
    const body = renderPlanComment([{ stack: "prod", diff, resources: 9000, tree: "├─ x  (hcloud:index:Server)\n".repeat(5000) }]);
    expect(body.length).toBeLessThan(65_536);
    expect(body).toContain("**1 to create");
    expect(body).not.toContain("hcloud:index:Server");
    expect(body).toContain("they are in the `offline-render` artifact");
  });
});
