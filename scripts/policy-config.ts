// npm run policy-config: writes policies/config.<env>.json for every stack
// file, for `pulumi preview --policy-pack policies --policy-pack-config …`.
import { readdirSync, writeFileSync } from "node:fs";
import { parseConfigValue } from "../src/config/fromPulumi";
import { OperatorSchema } from "../src/config/schema";
import { policyConfigFor } from "../src/policyConfig";
import { readStackFile } from "../src/offline/stackFile";

for (const file of readdirSync(".").filter((f) => /^Pulumi\.[a-z0-9-]+\.yaml$/.test(f))) {
  const stack = file.split(".")[1]!;
  const operators = OperatorSchema.array().parse(parseConfigValue(readStackFile(file).values["supafleet:operators"] ?? "[]"));
  const out = `policies/config.${stack}.json`;
  writeFileSync(out, JSON.stringify(policyConfigFor({ operators }), null, 2) + "\n");
  console.log(`wrote ${out}`);
}
