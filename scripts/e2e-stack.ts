// npx tsx scripts/e2e-stack.ts: writes Pulumi.e2e-<run>.yaml for .github/workflows/e2e.yml and prints the
// stack name. Reads E2E_RUN, E2E_DOMAIN, E2E_ZONE_ID, E2E_ACCOUNT_ID, E2E_ACCESS_EMAIL, E2E_SSH_PUBLIC_KEY,
// E2E_RUNNER_IP and, optionally, E2E_LOCATION (docs/e2e.md).
import { writeFileSync } from "node:fs";
import { z } from "zod";
import { renderE2eStackFile, type E2eInput } from "../src/e2e/stack";

const env = process.env;
const input: Record<keyof E2eInput, string | undefined> = {
  run: env.E2E_RUN,
  domain: env.E2E_DOMAIN,
  zoneId: env.E2E_ZONE_ID,
  accountId: env.E2E_ACCOUNT_ID,
  accessEmail: env.E2E_ACCESS_EMAIL,
  sshPublicKey: env.E2E_SSH_PUBLIC_KEY,
  runnerIp: env.E2E_RUNNER_IP,
  location: env.E2E_LOCATION,
};
const VARS: Record<keyof E2eInput, string> = {
  run: "E2E_RUN",
  domain: "E2E_DOMAIN",
  zoneId: "E2E_ZONE_ID",
  accountId: "E2E_ACCOUNT_ID",
  accessEmail: "E2E_ACCESS_EMAIL",
  sshPublicKey: "E2E_SSH_PUBLIC_KEY",
  runnerIp: "E2E_RUNNER_IP",
  location: "E2E_LOCATION",
};
try {
  const { stack, text } = renderE2eStackFile(Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined && v !== "")) as E2eInput);
  writeFileSync(`Pulumi.${stack}.yaml`, text);
  console.log(stack);
} catch (e) {
  if (!(e instanceof z.ZodError)) throw e;
  for (const issue of e.issues) {
    const key = issue.path[0] as keyof E2eInput;
    console.error(`e2e-stack: ${VARS[key] ?? String(key)}: ${issue.code === "invalid_type" ? "is not set" : issue.message}`);
  }
  process.exit(2);
}
