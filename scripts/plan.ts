// npm run plan -- [--stack <env>] [--out <dir>] [--diff <stack file | git ref>] [--comment <file>] [--quiet]
//
// Renders the fleet offline: runs the real program under the Pulumi SDK's mock
// runtime and writes every rendered file to out/<env>/, with INDEX.md saying
// what each is. With --diff, lists first what the change would create, update,
// replace and delete compared with another version of the stack file; the
// resource tree then stays in out/<env>/tree.txt. --comment writes the pull
// request comment: the diffs first, the trees collapsed.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { renderPlanComment, type StackPlan } from "../src/offline/comment";
import { diffSnapshots, renderDiff } from "../src/offline/diff";
import { engineConfigFromYaml, readStackFile, StackFileError, type EngineConfig } from "../src/offline/stackFile";
import { renderCounts, renderTree } from "../src/offline/tree";
import { writeSnapshot } from "../src/offline/write";

const usage = "usage: npm run plan -- [--stack <env>] [--out <dir>] [--diff <stack file | git ref>] [--comment <file>] [--quiet]";

function fail(message: string, code: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

function stacksInRepo(): string[] {
  return readdirSync(".")
    .map((f) => /^Pulumi\.([a-z0-9-]+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

type Base = { kind: "file"; path: string } | { kind: "ref"; ref: string };

/** What --diff names, checked before anything renders. */
function resolveBase(against: string, stacks: readonly string[]): Base {
  if (existsSync(against)) {
    if (stacks.length !== 1) fail(`--diff ${against}: a stack file is the base of one stack; add --stack`, 2);
    return { kind: "file", path: against };
  }
  try {
    execFileSync("git", ["rev-parse", "--verify", "--quiet", `${against}^{commit}`], { stdio: "ignore" });
  } catch {
    fail(`--diff ${against}: neither a file nor a git ref (try a branch such as origin/main, or a path)`, 2);
  }
  return { kind: "ref", ref: against };
}

/** The base of a diff: another stack file, or this stack's file at a git ref. */
function baseConfig(stack: string, base: Base): { config: EngineConfig; label: string } {
  if (base.kind === "file") return { config: readStackFile(base.path), label: base.path };
  const file = `Pulumi.${stack}.yaml`;
  try {
    const text = execFileSync("git", ["show", `${base.ref}:${file}`], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    return { config: engineConfigFromYaml(text, `${base.ref}:${file}`), label: `${base.ref}:${file}` };
  } catch {
    // The stack is new at this ref: everything is a creation.
    return { config: { values: {}, secretKeys: [] }, label: `${base.ref} (no ${file})` };
  }
}

/** The program and the Pulumi SDK, loaded only once the arguments are sound: a usage error answers at once. */
let offline: { process: typeof import("../src/offline/process"); run: typeof import("../src/offline/run") } | undefined;

async function mainCli(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      options: {
        stack: { type: "string" },
        out: { type: "string", default: "out" },
        diff: { type: "string" },
        comment: { type: "string" },
        quiet: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
      strict: true,
    }).values;
  } catch (e) {
    fail(`${(e as Error).message}\n${usage}`, 2);
  }
  if (args.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const stacks = args.stack !== undefined ? [args.stack] : stacksInRepo();
  for (const stack of stacks) {
    if (!existsSync(`Pulumi.${stack}.yaml`)) fail(`no stack file Pulumi.${stack}.yaml; stacks here: ${stacksInRepo().join(", ") || "none"}`, 2);
  }
  if (args.comment !== undefined && args.diff === undefined) fail("--comment needs --diff: the comment is the blast radius", 2);
  const base = args.diff !== undefined ? resolveBase(args.diff, stacks) : undefined;

  offline = { process: await import("../src/offline/process.js"), run: await import("../src/offline/run.js") };
  // Pulumi captures a stack trace for every promise and resource it creates;
  // capturing, formatting and source-mapping them was most of the plan's run
  // time, and a config error is reported without a trace anyway.
  offline.process.useOfflinePlanProcess();
  const { runOffline } = offline.run;

  const plans: StackPlan[] = [];
  const written: string[] = [];
  for (const stack of stacks) {
    const head = await runOffline(stack, readStackFile(`Pulumi.${stack}.yaml`));
    if (head.error !== undefined) fail(head.error, 1);
    const out = writeSnapshot(head, args.out!);
    written.push(`${stack}: ${head.resources.length} resources; ${out.files} files written to ${out.dir}/ (INDEX.md says what each is)`);
    if (base === undefined) {
      if (!args.quiet) {
        process.stdout.write(`\n== ${stack}: resource tree\n${renderTree(head.resources)}`);
        process.stdout.write(`\n== ${stack}: resources by type\n${renderCounts(head.resources)}`);
      }
      continue;
    }
    const { config, label } = baseConfig(stack, base);
    const before = await runOffline(stack, config);
    // A stack new at the base has no config, and so nothing to compare: every resource is a creation.
    const isNewStack = Object.keys(config.values).length === 0;
    if (before.error !== undefined && !isNewStack) fail(`the base (${label}) does not validate:\n${before.error}`, 1);
    const diff = renderDiff(diffSnapshots(before, head), `supafleet plan diff: ${stack} (${label} → Pulumi.${stack}.yaml)`);
    plans.push({ stack, diff, resources: head.resources.length, tree: renderTree(head.resources) });
  }

  // What changes comes first; where everything went, last.
  for (const p of plans) process.stdout.write(`${p.diff}\n`);
  process.stdout.write(`${written.join("\n")}\n`);
  if (args.comment !== undefined) writeFileSync(args.comment, renderPlanComment(plans));
}

mainCli().catch((e: unknown) => {
  if (e instanceof StackFileError) fail(e.message, 1);
  const hint = offline?.process.stackTraceHint();
  if (hint !== undefined) process.stderr.write(`${hint}\n`);
  throw e;
});
