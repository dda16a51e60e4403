import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { composeScript, shellQuote } from "../../src/render/script";
import { fillTemplate, TEMPLATES_DIR } from "../../src/render/templates";

/** Runs a rendered script in bash; stdout as bytes. */
function bash(script: string, env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync("bash", ["--norc", "--noprofile", "-c", script], { env: { PATH: process.env.PATH, ...env }, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 24 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

// The characters a shell treats specially, mixed with plain ones, so that most strings hold several.
const NASTY = ["'", '"', "$", "`", "\\", "\n", "\r", "\t", " ", "!", "*", "?", "[", "]", "~", "#", ";", "&", "|", "(", ")", "{", "}", "<", ">", "%", "=", "-", "a", "Z", "0", "é", "€", "𝄞", "$(", "${", "'\\''"];
const nasty = fc.string({ unit: fc.constantFrom(...NASTY), maxLength: 40 });
// Any code point at all, but NUL, which no shell variable can hold.
const anyText = fc.string({ unit: "binary", maxLength: 40 }).filter((s) => !s.includes("\0"));
const value = fc.oneof(nasty, anyText);

describe("shellQuote", () => {
  it("reads back byte for byte in bash, whatever the string", () => {
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 8 }), (values) => {
        const names = values.map((_, i) => `V${i}`);
        const body = `# test\nprintf '%s\\0' ${names.map((n) => `"$${n}"`).join(" ")}\n`;
        const r = bash(composeScript("test/echo.sh", body, Object.fromEntries(names.map((n, i) => [n, values[i]!]))));
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        expect(r.stdout.equals(Buffer.concat(values.map((v) => Buffer.from(`${v}\0`, "utf8"))))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("is one word: a quoted value used unquoted in argv splits into nothing", () => {
    fc.assert(
      fc.property(value, (v) => {
        const r = bash(`set -- ${shellQuote(v)}; printf '%s' "$#:$1"`);
        expect(r.stdout.toString("utf8")).toBe(`1:${Buffer.from(v, "utf8").toString("utf8")}`);
      }),
      { numRuns: 100 },
    );
  });

  it("refuses a NUL byte", () => {
    expect(() => shellQuote("a\0b")).toThrow(/NUL/);
  });
});

describe("composeScript", () => {
  const body = "# supafleet: say hello to a project.\n# Two lines of what it does.\n\nsay \"hello from $WHERE\"\n[ -n \"$WHERE\" ] || die \"nowhere\"\n";

  it("puts the shebang and the body's comment first, then set -euo pipefail, the values, the prelude and the body", () => {
    const s = composeScript("worker/hello.sh", body, { PROJECT: "crm", WHERE: "w1" });
    const lines = s.split("\n");
    expect(lines.slice(0, 7)).toEqual([
      "#!/usr/bin/env bash",
      "# supafleet: say hello to a project.",
      "# Two lines of what it does.",
      "set -euo pipefail",
      "SCRIPT='hello'",
      "PROJECT='crm'",
      "WHERE='w1'",
    ]);
    expect(s).toContain("# --- templates/lib/prelude.sh\n");
    expect(s).toContain("die() {");
    expect(s.indexOf("die() {")).toBeLessThan(s.indexOf("# --- templates/worker/hello.sh"));
    expect(s.endsWith('say "hello from $WHERE"\n[ -n "$WHERE" ] || die "nowhere"\n')).toBe(true);
  });

  it("names the script and its project in messages, and exits 1 on die", () => {
    const r = bash(composeScript("worker/hello.sh", body, { PROJECT: "crm", WHERE: "" }));
    expect(r.stderr).toBe("hello(crm): hello from \nhello(crm): nowhere\n");
    expect(r.status).toBe(1);
    const bare = bash(composeScript("host/hello.sh", "need definitely-not-a-command-here\n"));
    expect(bare.stderr).toBe("hello: missing definitely-not-a-command-here\n");
    expect(bare.status).toBe(1);
  });

  it("carries only the prelude's functions the body calls, and those they call", () => {
    const need = composeScript("host/x.sh", "need jq\n");
    expect(need).toContain("need() {");
    expect(need).toContain("die() {");
    expect(need).not.toContain("say() {");
    expect(need).not.toContain("project_compose() {");
    const compose = composeScript("worker/x.sh", 'project_compose "$DIR" "$DIR/.env" ps\n', { PROJECT: "crm" });
    expect(compose).toContain("project_compose() {");
    // A comment line naming a function does not bring it in; a body that calls none has no prelude at all.
    const none = composeScript("host/x.sh", "# we never die here\necho ok\n");
    expect(none).not.toContain("templates/lib/prelude.sh");
    expect(none).not.toContain("die() {");
    expect(bash(none).stdout.toString()).toBe("ok\n");
  });

  it("refuses a value the script never uses, a name that is not a plain upper-case one, and a reserved name", () => {
    expect(() => composeScript("worker/hello.sh", body, { WHERE: "w1", ELSEWHERE: "w2" })).toThrow(/never uses \$ELSEWHERE/);
    expect(() => composeScript("worker/hello.sh", body, { WHERE: "w1", where: "x" })).toThrow(/where is not a name/);
    expect(() => composeScript("worker/hello.sh", "echo \"$PATH\"\n", { PATH: "/tmp" })).toThrow(/PATH is not a name/);
    expect(() => composeScript("worker/hello.sh", "echo \"$SCRIPT\"\n", { SCRIPT: "x" })).toThrow(/SCRIPT is not a name/);
  });

  it("refuses a body with a template slot or a shebang, and lets docker's Go templates through", () => {
    expect(() => composeScript("worker/hello.sh", 'echo "{{project}}"\n')).toThrow(/template slot \{\{project\}\}/);
    expect(() => composeScript("worker/hello.sh", "#!/usr/bin/env bash\necho hi\n")).toThrow(/whole script/);
    expect(composeScript("worker/hello.sh", "docker inspect -f '{{if .State.Running}}{{.Id}}{{else}}-{{end}}' x\n")).toContain("{{end}}");
  });

  it("leaves no {{slot}} in any shell script in templates/, and fillTemplate refuses to fill one", () => {
    const scripts = (readdirSync(TEMPLATES_DIR, { recursive: true }) as string[]).filter((f) => f.endsWith(".sh"));
    expect(scripts.length).toBeGreaterThan(30);
    const slotted = scripts.filter((f) => /\{\{\s*(?!(?:end|else)\s*\}\})[A-Za-z_][A-Za-z0-9_]*\s*\}\}/.test(readFileSync(join(TEMPLATES_DIR, f), "utf8")));
    expect(slotted).toEqual([]);
    expect(() => fillTemplate("host/install-files.sh", {})).toThrow(/renderScript/);
  });

});
