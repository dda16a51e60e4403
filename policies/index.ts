// The policy pack. Only the pack lives here: the rules are in rules/, where
// tests import them without starting the analyzer this constructor starts.
import { PolicyPack } from "@pulumi/policy";
import { allPolicies } from "./rules";

new PolicyPack("supafleet", {
  description: "supafleet's non-negotiables: nothing exposed, secrets secret, every project backed up.",
  enforcementLevel: "mandatory",
  policies: allPolicies,
});
