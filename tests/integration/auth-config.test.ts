import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthSchema } from "../../src/config/auth";
import { API_ONLY_SERVICES } from "../../src/model/projectServices";
import { AUTH_CONFIG_DIR, AUTH_FILE, GOTRUE_UID, authEnv, renderAuthFile } from "../../src/supabase/authEnv";
import { docker, dockerEnv, requireEngine } from "../lab/engine";
import { LabProject, release } from "../lab/project";

/**
 * How a project's Auth settings reach GoTrue, on the lab's real Docker engine: the auth service
 * started from the compose file the program renders (its image is a stand-in, so GoTrue's own
 * reload is not exercised here; its source says what it does, docs/configuration.md), and the
 * real auth-config.sh. What GoTrue's reloader needs is shown for real: its user reads the file
 * through the read-only bind and no other user can, and a replaced file raises the inotify event
 * GoTrue's fsnotify watches for, inside the running container, with no restart.
 */
const p = new LabProject("authd", 70, 1, { services: API_ONLY_SERVICES, studio: "master" });
const auth = p.container("auth");
const file = (redirect: string): string =>
  renderAuthFile(
    authEnv(
      { auth: { ...AuthSchema.parse({ redirectUrls: [redirect], providers: { github: { clientId: "Iv1.abc" } } }), siteUrl: "https://app.example.com" }, apiHostname: "authd.fleet.example", customHostnames: [] },
      { providers: { github: "gh-secret" } },
    ),
  );
const writeSettings = (redirect: string): void => {
  const r = p.run(p.script("auth-config.sh", { AUTH_FILE, AUTH_UID: String(GOTRUE_UID) }), file(redirect));
  if (r.status !== 0) throw new Error(`auth-config.sh failed: ${r.stderr}`);
};

beforeAll(async () => {
  requireEngine();
  await p.start();
  p.configure();
  writeSettings("https://app.example.com/one");
  const rel = p.dir("releases", "current");
  mkdirSync(rel, { recursive: true });
  writeFileSync(`${rel}/compose.yaml`, p.composeText(release("2026.08")));
  const up = spawnSync("docker", ["compose", "--project-name", p.name, "--project-directory", rel, "-f", `${rel}/compose.yaml`, "--env-file", p.dir("secrets", "staged", ".env"), "up", "--detach", "--no-deps", "auth"], {
    encoding: "utf8",
    env: dockerEnv({ ...process.env, KONG_CONFIG_SHA256: "" }),
  });
  if (up.status !== 0) throw new Error(`compose up auth failed: ${up.stderr}`);
}, 120_000);
afterAll(() => p.stop());

describe("a project's auth.d on a real Docker engine", () => {
  it("runs auth with --config-dir, and only GoTrue's user reads the settings, through a read-only bind", () => {
    expect(JSON.parse(docker(["inspect", "-f", "{{json .Config.Cmd}}", auth]).stdout)).toEqual(["auth", "--config-dir", AUTH_CONFIG_DIR]);
    const read = (user: string) => docker(["exec", "--user", user, auth, "cat", `${AUTH_CONFIG_DIR}/${AUTH_FILE}`], { allowFail: true });
    expect(read(String(GOTRUE_UID)).stdout).toContain("GOTRUE_EXTERNAL_GITHUB_SECRET='gh-secret'");
    const other = read("1001");
    expect(other.status).not.toBe(0);
    expect(other.stderr).toMatch(/Permission denied/);
    const write = docker(["exec", "--user", "0", auth, "sh", "-c", `echo X=1 > ${AUTH_CONFIG_DIR}/99-x.env`], { allowFail: true });
    expect(write.stderr).toMatch(/Read-only file system/);
  });

  it("a new file raises the event GoTrue reloads on, inside the running container, which is not restarted", async () => {
    const startedAt = docker(["inspect", "-f", "{{.State.StartedAt}}", auth]).stdout.trim();
    // As GoTrue's fsnotify does: watch the folder, and on an event for a *.env file read it again, as its user.
    const watch = `const fs=require("fs");fs.watch(${JSON.stringify(AUTH_CONFIG_DIR)},(e,n)=>{if(!String(n).endsWith(".env"))return;const t=fs.readFileSync(${JSON.stringify(`${AUTH_CONFIG_DIR}/${AUTH_FILE}`)},"utf8");console.log(e,n,/URI_ALLOW_LIST='([^']*)'/.exec(t)[1]);process.exit(0)});console.log("ready");setTimeout(()=>process.exit(3),20000)`;
    const watcher = spawn("docker", ["exec", "--user", String(GOTRUE_UID), auth, "node", "-e", watch], { env: dockerEnv() });
    let out = "";
    const ready = new Promise<void>((resolve) => watcher.stdout.on("data", (d: Buffer) => ((out += d.toString()), out.includes("ready") && resolve())));
    const done = new Promise<number>((resolve) => watcher.on("close", (code) => resolve(code ?? -1)));
    await ready;
    writeSettings("https://app.example.com/two");
    expect(await done).toBe(0);
    expect(out).toMatch(new RegExp(`^rename ${AUTH_FILE.replace(".", "\\.")} https://app\\.example\\.com/two$`, "m"));
    expect(docker(["inspect", "-f", "{{.State.StartedAt}}", auth]).stdout.trim()).toBe(startedAt);
  });
});
