import { describe, expect, it } from "vitest";
import { readWorkflow, type Step } from "../helpers/workflow";

const workflow = readWorkflow("e2e.yml");
const job = workflow.jobs.e2e!;
const at = (f: (s: Step) => boolean): number => job.steps.findIndex(f);
const running = (text: string) => (s: Step): boolean => s.run?.includes(text) === true;

describe("e2e.yml: an ephemeral stack, probed, then always destroyed", () => {
  it("runs by hand, and on its schedule only where the repository opts in", () => {
    expect(Object.keys(workflow.on).sort()).toEqual(["schedule", "workflow_dispatch"]);
    expect(job.if).toBe("github.event_name == 'workflow_dispatch' || vars.E2E_SCHEDULED == 'true'");
    expect(job["runs-on"]).toBe("ubuntu-latest");
    expect(job.environment).toBe("e2e");
  });

  it("names the stack after the run, so two runs never share one", () => {
    expect(job.env?.STACK).toBe("${{ vars.PULUMI_ORG }}/supafleet/e2e-${{ github.run_id }}-${{ github.run_attempt }}");
    expect(job.env?.E2E_RUN).toBe("${{ github.run_id }}-${{ github.run_attempt }}");
    expect(job.steps[at(running("scripts/e2e-stack.ts"))]!.run).toContain("npm run -s policy-config");
  });

  it("creates the stack, runs pulumi up with the policy pack, then the probe against the stack's probeTarget", () => {
    const create = at(running('pulumi stack init "$STACK"'));
    const up = at(running("pulumi up "));
    const probe = at(running("scripts/probe.ts"));
    expect(create).toBeGreaterThan(at(running("scripts/e2e-stack.ts")));
    expect(up).toBeGreaterThan(create);
    expect(probe).toBeGreaterThan(up);
    expect(job.steps[up]!.run).toContain('--policy-pack policies --policy-pack-config "policies/config.e2e-$E2E_RUN.json"');
    expect(job.steps[probe]!.run).toContain("pulumi stack output probeTarget --show-secrets --json");
    expect(job.steps[probe]!.run).toContain('--since "$(cat "$RUNNER_TEMP/up-started")"');
    // The probe's timings start when `up` does.
    expect(job.steps[up]!.run!.indexOf("up-started")).toBeLessThan(job.steps[up]!.run!.indexOf("pulumi up"));
  });

  it("always destroys and removes the stack once it exists, even when up or the probe failed", () => {
    const destroy = at(running("pulumi destroy"));
    expect(destroy).toBeGreaterThan(at(running("scripts/probe.ts")));
    const step = job.steps[destroy]!;
    expect(step.if).toBe("always() && steps.stack.outcome == 'success'");
    expect(job.steps.find((s) => s.id === "stack")!.run).toBe('pulumi stack init "$STACK"');
    expect(step.run).toContain('pulumi destroy --yes --skip-preview --stack "$STACK"');
    expect(step.run!.indexOf("pulumi stack rm --yes")).toBeGreaterThan(step.run!.indexOf("pulumi destroy"));
    // Nothing between up and destroy can skip it: every later step that may fail has no condition that
    // would stop the job before destroy, and the mesh is always left and the results always kept.
    for (const s of job.steps.slice(at(running("pulumi up ")) + 1, destroy)) {
      if (s.if !== undefined) expect(s.if, s.name).toBe("always()");
    }
    expect(job.steps[at(running("wg-quick down wg0"))]!.if).toBe("always()");
    expect(job.steps.find((s) => s.uses?.startsWith("actions/upload-artifact@"))!.if).toBe("always()");
    // After a failed destroy the job names what is left and how to finish.
    const left = job.steps[job.steps.length - 1]!;
    expect(left.if).toBe("failure() && steps.stack.outcome == 'success'");
    expect(left.run).toContain("label_selector=env%3De2e-$E2E_RUN");
  });

  it("hands secrets to the CLI on stdin, never on a command line", () => {
    const secrets = job.steps[at(running("pulumi config set --secret hcloud:token"))]!;
    for (const line of secrets.run!.split("\n").filter((l) => l.includes("config set --secret"))) expect(line).toMatch(/^\s*(printf '%s' "\$\w+"|openssl rand -hex 24) \| pulumi config set --secret [\w:]+ --stack "\$STACK"$/);
    expect(secrets.env).toEqual({ HCLOUD_TOKEN: "${{ secrets.HCLOUD_TOKEN }}", CLOUDFLARE_API_TOKEN: "${{ secrets.CLOUDFLARE_API_TOKEN }}" });
  });
});
