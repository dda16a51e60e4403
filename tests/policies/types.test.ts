import { describe, expect, it } from "vitest";
import type { PolicyResource, ResourceValidation, ResourceValidationPolicy } from "@pulumi/policy";
import { allPolicies } from "../../policies/rules";
import { ofType, resourcesOfType, T } from "../../policies/rules/types";
import { runResourcePolicy } from "../helpers/policyHarness";

// What the analyzer reads to skip a policy for other types (exported at run time, not in the typings).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { getPulumiType } = require("@pulumi/policy/policy") as { getPulumiType: (f: unknown) => string | undefined };

describe("ofType", () => {
  const seen: unknown[] = [];
  const policy: ResourceValidationPolicy = {
    name: "probe",
    description: "records what it is given",
    validateResource: ofType(T.firewall, (props, args, report) => {
      seen.push(props.rules);
      report(`${args.name} checked`);
    }),
  };

  it("runs only on its type, with that resource's props", async () => {
    expect(await runResourcePolicy(policy, { type: T.server, name: "w1-server", props: { rules: ["not a firewall"] } })).toEqual([]);
    expect(await runResourcePolicy(policy, { type: T.firewall, name: "w1-firewall", props: { rules: [] } })).toEqual([{ policy: "probe", message: "w1-firewall checked" }]);
    expect(seen).toEqual([[]]);
  });

  it("carries its type, so the analyzer skips the rule for every other type", () => {
    expect(getPulumiType(policy.validateResource)).toBe(T.firewall);
  });

  it("is what every rule on particular types uses: each declares the types it checks", () => {
    const declared = (fns: ResourceValidation | ResourceValidation[] | undefined): (string | undefined)[] => (fns === undefined ? [] : [fns].flat().map(getPulumiType));
    const byRule = Object.fromEntries(allPolicies.filter((p): p is ResourceValidationPolicy => !("validateStack" in p)).map((p) => [p.name, declared(p.validateResource)]));
    expect(byRule).toEqual({
      "firewall-inbound-only-wireguard-and-ssh": [T.firewall],
      "firewall-ssh-from-operators": [T.firewall],
      "firewall-no-service-ports": [T.firewall],
      "server-has-firewall-and-labels": [T.server],
      "server-protected-in-prod": [T.server],
      "server-type-allowed": [T.server],
      "tunnel-ends-with-catch-all": [T.tunnelConfig],
      "access-never-everyone": [T.accessPolicy, T.accessApp],
      "access-app-names-identity-provider": [T.accessApp],
      // Images hide in any resource's inputs (a command's Compose file, a container): every type.
      "container-images-pinned": [undefined],
      // A remediation only, on every type.
      "secret-inputs-are-secret": [],
    });
  });
});

describe("resourcesOfType", () => {
  it("keeps a stack's resources of one type, in order", () => {
    const r = (type: string, name: string): PolicyResource => ({ type, name, urn: name, props: {}, opts: {} as PolicyResource["opts"], dependencies: [], propertyDependencies: {}, isType: () => false, asType: () => undefined });
    const all = [r(T.backup, "a-backup"), r(T.project, "a"), r(T.backup, "b-backup")];
    expect(resourcesOfType(all, T.backup).map((x) => x.name)).toEqual(["a-backup", "b-backup"]);
    expect(resourcesOfType(all, T.accessApp)).toEqual([]);
  });
});
