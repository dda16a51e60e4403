import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/stacks";

describe("the policy pack as Pulumi loads it", () => {
  it("compiles under ts-node with type checking and starts its analyzer, printing the port", async () => {
    const child = spawn(process.execPath, ["-e", 'require("ts-node").register({ project: "tsconfig.json", transpileOnly: false }); require("./index.ts");'], {
      cwd: join(ROOT, "policies"),
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const firstLine = await new Promise<string>((resolve, reject) => {
        let out = "";
        let err = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.includes("\n")) resolve(out.split("\n")[0]!);
        });
        child.stderr.on("data", (d: Buffer) => (err += d.toString()));
        child.on("exit", (code) => reject(new Error(`pack exited with ${code}: ${err}`)));
      });
      expect(firstLine).toMatch(/^\d{2,5}$/);
    } finally {
      child.kill("SIGKILL");
    }
  });
});
