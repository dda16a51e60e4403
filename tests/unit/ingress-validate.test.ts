import { describe, expect, it } from "vitest";
import { validateIngress, type IngressRuleInput } from "../../src/render/ingressValidate";
import { planFleet } from "../../src/plan/planFleet";
import { ingressRules, providerIngress } from "../../src/render/ingress";
import type { FleetConfig } from "../../src/config/schema";
import { check, stackDoc } from "../helpers/stacks";

const ok: IngressRuleInput[] = [
  { hostname: "ops.example.com", service: "http://10.100.0.2:20010" },
  { hostname: "*.example.com", path: "^/api/.*$", service: "https://10.100.0.3:20020" },
  { hostname: "sock.example.com", service: "unix:/run/app.sock" },
  { service: "http_status:404" },
];

describe("the ingress validator, as cloudflared checks rules", () => {
  it("accepts a sound rule set", () => {
    expect(validateIngress(ok)).toEqual([]);
  });

  it("accepts the fleet's own rules for both stacks", () => {
    for (const stack of ["staging", "prod"]) {
      const model = planFleet(stack, check(stackDoc(stack)).config as FleetConfig);
      expect(validateIngress(providerIngress(ingressRules(model)))).toEqual([]);
    }
  });

  const broken: [string, IngressRuleInput[], string][] = [
    ["no rules at all", [], "there are no ingress rules; cloudflared needs at least the catch-all"],
    ["no catch-all at the end", ok.slice(0, 2), "rule #2 (*.example.com): the last ingress rule must match all URLs (no hostname and no path)"],
    ["a catch-all before the end", [{ service: "http_status:404" }, ...ok], "rule #1: matches every hostname, so the rules after it would never be used"],
    ["a catch-all with a path", [{ path: "^/x", service: "http_status:404" }], "rule #1: the last ingress rule must match all URLs (no hostname and no path)"],
    ["a wildcard inside a hostname", [{ hostname: "ops.*.example.com", service: "http://a:1" }, ok[3]!], 'rule #1 (ops.*.example.com): hostname "ops.*.example.com" may only use a wildcard as its whole first label, as in *.example.com'],
    ["a partial wildcard label", [{ hostname: "*ops.example.com", service: "http://a:1" }, ok[3]!], 'rule #1 (*ops.example.com): hostname "*ops.example.com" may only use a wildcard as its whole first label, as in *.example.com'],
    ["a hostname with a port", [{ hostname: "ops.example.com:8443", service: "http://a:1" }, ok[3]!], 'rule #1 (ops.example.com:8443): hostname "ops.example.com:8443" cannot contain a port'],
    ["a hostname that is not a DNS name", [{ hostname: "ops_1.example.com", service: "http://a:1" }, ok[3]!], 'rule #1 (ops_1.example.com): hostname "ops_1.example.com" is not a valid DNS name'],
    ["a path that does not compile", [{ hostname: "a.example.com", path: "*", service: "http://a:1" }, ok[3]!], "rule #1 (a.example.com): has an invalid path regex: Invalid regular expression: /*/: Nothing to repeat"],
    ["a path with lookahead (not RE2)", [{ hostname: "a.example.com", path: "^/(?!admin)", service: "http://a:1" }, ok[3]!], "rule #1 (a.example.com): has an invalid path regex: lookaround assertions are not supported by Go's regexp"],
    ["a service that is not a URL", [{ hostname: "a.example.com", service: "10.100.0.2:20010" }, ok[3]!], 'rule #1 (a.example.com): "10.100.0.2:20010" is not a valid URL or http_status:NNN'],
    ["a service with a path", [{ hostname: "a.example.com", service: "http://10.100.0.2:20010/rest" }, ok[3]!], 'rule #1 (a.example.com): "http://10.100.0.2:20010/rest" has a path; ingress rules cannot proxy to a different path on the origin'],
    ["a service with an unproxied scheme", [{ hostname: "a.example.com", service: "ftp://10.100.0.2" }, ok[3]!], 'rule #1 (a.example.com): "ftp://10.100.0.2" has scheme "ftp", which cloudflared does not proxy'],
    ["an HTTP status out of range", [{ service: "http_status:700" }], 'rule #1: "http_status:700" is not an HTTP status (http_status:100 to http_status:599)'],
  ];

  for (const [name, rules, message] of broken) {
    it(`rejects ${name}`, () => {
      expect(validateIngress(rules)).toContain(message);
    });
  }

  it("reports every problem of a rule set at once", () => {
    const errors = validateIngress([{ hostname: "a:1", service: "nope" }, { hostname: "b.example.com", path: "(", service: "http://x:1" }]);
    expect(errors).toHaveLength(4);
  });
});
