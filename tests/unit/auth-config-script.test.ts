import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { renderScript } from "../../src/render/script";
import { AUTH_FILE, GOTRUE_UID, authEnv, renderAuthFile } from "../../src/supabase/authEnv";
import { AuthSchema } from "../../src/config/auth";

const root = mkdtempSync(join(tmpdir(), "supafleet-auth-config-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const script = renderScript("worker/auth-config.sh", { PROJECT: "shop", AUTH_FILE, AUTH_UID: GOTRUE_UID });
const run = (stdin: string) => spawnSync("bash", ["-c", script], { input: stdin, encoding: "utf8", env: { ...process.env, SUPAFLEET_ROOT: root } });
const dir = join(root, "projects/shop/auth.d");
const file = (redirect: string): string =>
  renderAuthFile(
    authEnv(
      { auth: { ...AuthSchema.parse({ redirectUrls: [redirect], providers: { github: { clientId: "Iv1.abc" } } }), siteUrl: "https://app.example.com" }, apiHostname: "shop.fleet.example", customHostnames: [] },
      { providers: { github: "gh-secret" } },
    ),
  );

describe("auth-config.sh on a worker", () => {
  it("writes the project's settings for GoTrue's user alone, replacing the file whole and printing none of it", () => {
    const first = run(file("https://app.example.com/one"));
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).not.toContain("gh-secret");
    const second = run(file("https://app.example.com/two"));
    expect(second.status, second.stderr).toBe(0);
    const path = join(dir, AUTH_FILE);
    expect(readFileSync(path, "utf8")).toContain("GOTRUE_URI_ALLOW_LIST='https://app.example.com/two'");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    if (process.getuid?.() === 0) expect([statSync(path).uid, statSync(dir).uid]).toEqual([GOTRUE_UID, GOTRUE_UID]);
    // Only the file itself: no staging copy left where GoTrue reads *.env.
    expect(readdirSync(dir)).toEqual([AUTH_FILE]);
  });

  it("refuses empty input, and input that is not GoTrue's settings, leaving the file it had", () => {
    const before = readFileSync(join(dir, AUTH_FILE), "utf8");
    expect(run("").stderr).toContain("empty settings on stdin");
    const wrong = run("SOMETHING='else'\n");
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toContain("no GOTRUE_SITE_URL");
    expect(readFileSync(join(dir, AUTH_FILE), "utf8")).toBe(before);
    expect(readdirSync(dir)).toEqual([AUTH_FILE]);
  });
});
