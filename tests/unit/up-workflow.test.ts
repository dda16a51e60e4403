import { describe, expect, it } from "vitest";
import { readWorkflow, type Step } from "../helpers/workflow";

const workflow = readWorkflow("up.yml");

describe("up.yml deploys from GitHub-hosted runners over the mesh", () => {
  for (const stack of ["staging", "prod"]) {
    const job = workflow.jobs[stack]!;
    const at = (f: (s: Step) => boolean): number => job.steps.findIndex(f);

    it(`${stack}: runs on a GitHub-hosted runner, in its own environment`, () => {
      expect(job["runs-on"]).toBe("ubuntu-latest");
      expect(job.environment).toBe(stack);
    });

    it(`${stack}: joins the mesh as the ci peer before pulumi up, waits for a handshake, and always leaves it`, () => {
      const join = at((s) => s.run?.includes("wg-quick up wg0") === true);
      const up = at((s) => s.uses?.startsWith("pulumi/actions@") === true && s.with?.command === "up");
      const leave = at((s) => s.run?.includes("wg-quick down wg0") === true);
      expect(join).toBeGreaterThanOrEqual(0);
      expect(up).toBeGreaterThan(join);
      expect(leave).toBeGreaterThan(up);
      expect(job.steps[leave]!.if).toBe("always()");
      const step = job.steps[join]!;
      expect(step.env).toEqual({ WIREGUARD_CONFIG: "${{ secrets.SUPAFLEET_CI_WIREGUARD }}" });
      expect(step.run).toContain("latest-handshakes");
      // The config goes to a root-only file, never onto a command line.
      expect(step.run).toContain("install -m 600 /dev/stdin /etc/wireguard/wg0.conf");
      expect(job.steps[up]!.with).toMatchObject({ "stack-name": `\${{ vars.PULUMI_ORG }}/supafleet/${stack}`, policyPacks: "policies", policyPackConfigs: `policies/config.${stack}.json` });
      expect(job.steps[up]!.env).toMatchObject({ SUPAFLEET_RELEASE_COMMIT: "${{ github.sha }}" });
    });
  }

  it("runs prod only after staging", () => {
    expect(workflow.jobs.prod!.needs).toBe("staging");
  });
});
