// npm run policy-config: writes policies/config.<env>.json for every stack
// file, for `pulumi preview --policy-pack policies --policy-pack-config …`.
import { readdirSync, writeFileSync } from "node:fs";
import { parseConfigValue } from "../src/config/configValue";
import { FleetSchema, OperatorSchema, WireguardSchema } from "../src/config/schema";
import { policyConfigFor } from "../src/offline/policyConfig";
import { readStackFile } from "../src/offline/stackFile";

for (const file of readdirSync(".").filter((f) => /^Pulumi\.[a-z0-9-]+\.yaml$/.test(f))) {
  const stack = file.split(".")[1]!;
  const values = readStackFile(file).values;
  const operators = OperatorSchema.array().parse(parseConfigValue(values["supafleet:operators"] ?? "[]"));
  const wireguard = WireguardSchema.parse(parseConfigValue(values["supafleet:wireguard"] ?? "{}"));
  const hostnames = FleetSchema.shape.hostnames.parse(parseConfigValue(values["supafleet:hostnames"] ?? "{}"));
  const out = `policies/config.${stack}.json`;
  writeFileSync(out, JSON.stringify(policyConfigFor({ operators, wireguard, hostnames }), null, 2) + "\n");
  console.log(`wrote ${out}`);
}
