// npm run plan -- [--stack <env>] [--out <dir>] [--diff <stack file | git ref>] [--diff-out <file>]
//
// Renders the fleet offline: runs the real program under the Pulumi SDK's mock
// runtime, prints the resource tree, and writes every rendered file to
// out/<env>/. With --diff, lists what the change would create, update,
// replace and delete compared with another version of the stack file.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { diffSnapshots, renderDiff } from "../src/offline/diff";
import { runOffline, type Snapshot } from "../src/offline/run";
import { engineConfigFromYaml, readStackFile, StackFileError, type EngineConfig } from "../src/offline/stackFile";
import { renderCounts, renderTree } from "../src/offline/tree";
import { writeSnapshot } from "../src/offline/write";

const usage = "usage: npm run plan -- [--stack <env>] [--out <dir>] [--diff <stack file | git ref>] [--diff-out <file>] [--quiet]";

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

/** The base of a diff: another stack file, or this stack's file at a git ref. */
function baseConfig(stack: string, against: string): { config: EngineConfig; label: string } {
  if (existsSync(against)) return { config: readStackFile(against), label: against };
  const file = `Pulumi.${stack}.yaml`;
  try {
    execFileSync("git", ["rev-parse", "--verify", "--quiet", `${against}^{commit}`], { stdio: "ignore" });
  } catch {
    fail(`--diff ${against}: neither a file nor a git ref`, 2);
  }
  try {
    const text = execFileSync("git", ["show", `${against}:${file}`], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    return { config: engineConfigFromYaml(text, `${against}:${file}`), label: `${against}:${file}` };
  } catch {
    // The stack is new at this ref: everything is a creation.
    return { config: { values: {}, secretKeys: [] }, label: `${against} (no ${file})` };
  }
}

async function planOne(stack: string, opts: { out: string; quiet: boolean }): Promise<Snapshot> {
  const file = `Pulumi.${stack}.yaml`;
  if (!existsSync(file)) fail(`no stack file ${file}; stacks here: ${stacksInRepo().join(", ") || "none"}`, 2);
  const snapshot = await runOffline(stack, readStackFile(file));
  if (snapshot.error !== undefined) fail(snapshot.error, 1);
  const dir = writeSnapshot(snapshot, opts.out);
  if (!opts.quiet) {
    process.stdout.write(`\n== ${stack}: resource tree\n${renderTree(snapshot.resources)}`);
    process.stdout.write(`\n== ${stack}: resources by type\n${renderCounts(snapshot.resources)}`);
  }
  process.stdout.write(`\n${stack}: ${snapshot.resources.length} resources, ${snapshot.files.length} rendered files written to ${dir}/\n`);
  return snapshot;
}

async function mainCli(): Promise<void> {
  // Pulumi captures a stack trace for every promise and resource it creates;
  // source-mapping each one would double the plan's run time, and a config
  // error is reported without a trace anyway.
  process.setSourceMapsEnabled(false);
  let args;
  try {
    args = parseArgs({
      options: {
        stack: { type: "string" },
        out: { type: "string", default: "out" },
        diff: { type: "string" },
        "diff-out": { type: "string" },
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
  if (args.diff !== undefined && stacks.length !== 1) fail("--diff needs one --stack", 2);

  for (const stack of stacks) {
    const head = await planOne(stack, { out: args.out!, quiet: args.quiet! });
    if (args.diff === undefined) continue;
    const { config, label } = baseConfig(stack, args.diff);
    const base = await runOffline(stack, config);
    // A stack new at the base has no config, and so nothing to compare: every resource is a creation.
    const isNewStack = Object.keys(config.values).length === 0;
    if (base.error !== undefined && !isNewStack) fail(`the base (${label}) does not validate:\n${base.error}`, 1);
    const text = renderDiff(diffSnapshots(base, head), `supafleet plan diff: ${stack} (${label} → Pulumi.${stack}.yaml)`);
    process.stdout.write(`\n${text}`);
    if (args["diff-out"] !== undefined) writeFileSync(args["diff-out"], text);
  }
}

mainCli().catch((e: unknown) => {
  if (e instanceof StackFileError) fail(e.message, 1);
  throw e;
});
