import { beforeAll, describe, expect, it } from "vitest";
import { diffSnapshots, type Change } from "../../src/offline/diff";
import type { Snapshot } from "../../src/offline/run";
import { runDoc } from "../helpers/offline";
import { clone, stackDoc } from "../helpers/stacks";

type Doc = Record<string, unknown>;

const prod = stackDoc("prod");
const summary = (changes: Change[]): string[] => changes.map((c) => `${c.kind} ${c.name} ${c.paths.join(",")}`);

function prodWith(plans: Doc): Doc {
  const c = clone(prod);
  c["supafleet:plans"] = plans;
  return c;
}

let base: Snapshot;

beforeAll(async () => {
  base = await runDoc("prod", prod);
  expect(base.error).toBeUndefined();
});

describe("a plan's rate limit in the prod program", () => {
  it("writes the limits into each project's kong.yml, with the JWT secret redacted", () => {
    const kong = base.files.find((f) => f.path === "projects/ops/secrets/kong.yml")!.content;
    expect(kong).toContain("name: pre-function");
    expect(kong).toContain('"jwt_secret":"<redacted:jwtSecret>"');
    for (const secret of base.secretValues) expect(kong.includes(secret), "a secret in the rendered kong.yml").toBe(false);
  });

  it("raising starter's limit changes the Kong config and deploy of the one project starter tenants share, and nothing else", async () => {
    const head = await runDoc("prod", prodWith({ starter: { requestsPerMinute: 600 } }));
    expect(head.error).toBeUndefined();
    expect(summary(diffSnapshots(base, head))).toEqual(["update ops-config stdin", "update ops-deploy stdin"]);
  });

  it("raising business's limit reaches only the projects of business tenants", async () => {
    const head = await runDoc("prod", prodWith({ business: { requestsPerMinute: 5000 } }));
    expect(head.error).toBeUndefined();
    const names = [...new Set(diffSnapshots(base, head).map((c) => c.name))].sort();
    expect(names).toEqual(["praxis-config", "praxis-deploy", "smarteros-chat-config", "smarteros-chat-deploy", "smarteros-config", "smarteros-deploy"]);
  });
});
