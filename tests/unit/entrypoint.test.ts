import { spawnSync } from "node:child_process";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { main } from "../../src/main";
import { FleetMocks } from "../../src/offline/mocks";
import { engineConfig, ROOT, stackDoc } from "../helpers/stacks";

describe("the Pulumi entry point", () => {
  it("loads under ts-node exactly as `pulumi up` loads it, type-checked, and exports the program function", () => {
    // Mirrors @pulumi/pulumi cmd/run: ts-node with the project's tsconfig, type checking on.
    const script = `
      require("ts-node").register({ project: "tsconfig.json", transpileOnly: false, compilerOptions: {} });
      const m = require("./src/index.ts");
      process.stdout.write(typeof m + ":" + m.name);`;
    const r = spawnSync(process.execPath, ["-e", script], { cwd: ROOT, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("function:main");
  });

  it("a real run that lacks its secrets stops before registering anything, naming each key and its command", async () => {
    const mocks = new FleetMocks();
    await pulumi.runtime.setMocks(mocks, "supafleet", "prod", false, "techhilfe");
    const { values } = engineConfig(stackDoc("prod"));
    pulumi.runtime.setAllConfig(values, []);
    const run = main();
    await expect(run).rejects.toSatisfy((e: unknown) => pulumi.RunError.isInstance(e));
    const message = await run.catch((e: Error) => e.message);
    for (const key of ["hcloud:token", "cloudflare:apiToken", "supafleet:smtpPassword", "supafleet:smtpPassword-praxis", "supafleet:telegramBotToken", "supafleet:healthchecksPingKey"]) {
      expect(message).toContain(`${key}: is missing`);
      // The stack's ESC environment first, in the run's own organization; then the stack-file alternative.
      expect(message).toContain(`pulumi env set techhilfe/supafleet/prod pulumiConfig.${key} <value> --secret`);
      expect(message).toContain(`pulumi config set --secret ${key} --stack prod`);
    }
    expect(message).not.toContain("supafleet:ntfyToken");
    expect(mocks.resources.filter((r) => r.type !== "pulumi:pulumi:Stack")).toEqual([]);
  });
});
