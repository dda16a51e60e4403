// npx tsx scripts/probe.ts --target <target.json> [--since <epoch ms>] [--ports 1-65535] [--ssh-key <file>] [--ssh-port 22] [--json <file>]
//
// The end-to-end probe: acts on a running stack as a client would and prints
// a table of what passed. Exit 0 when every check passed, 1 when
// any failed or was skipped, 2 on bad input, with one line naming what is bad.
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { formatPath } from "../src/config/issues";
import { parsePorts } from "../src/probe/checks/ports";
import { allPassed, formatTable, toJson } from "../src/probe/report";
import { runProbe } from "../src/probe/run";
import { ProbeTargetSchema, type ProbeTarget } from "../src/probe/target";

const usage = "usage: npx tsx scripts/probe.ts --target <target.json> [--since <epoch ms>] [--ports 1-65535] [--ssh-key <file>] [--ssh-port 22] [--json <file>]";

function fail(message: string): never {
  process.stderr.write(`probe: ${message}\n`);
  process.exit(2);
}

function args() {
  try {
    return parseArgs({
      options: {
        target: { type: "string" },
        since: { type: "string" },
        ports: { type: "string", default: "1-65535" },
        "ssh-key": { type: "string" },
        "ssh-port": { type: "string", default: "22" },
        json: { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    fail(`${err instanceof Error ? err.message : String(err)}\n${usage}`);
  }
}

const opts = args();
if (!opts.target) fail(`--target is required\n${usage}`);
let since: number | undefined;
if (opts.since !== undefined) {
  since = Number(opts.since);
  if (!/^\d+$/.test(opts.since) || !Number.isSafeInteger(since)) fail(`--since: "${opts.since}" is not epoch milliseconds`);
}
let ports: number[] = [];
try {
  ports = parsePorts(opts.ports);
} catch (err) {
  fail(`--ports: ${err instanceof Error ? err.message : String(err)}`);
}
const sshPort = Number(opts["ssh-port"]);
if (!/^\d+$/.test(opts["ssh-port"]) || sshPort < 1 || sshPort > 65535) fail(`--ssh-port: "${opts["ssh-port"]}" is not a port`);
if (opts["ssh-key"] !== undefined) {
  try {
    readFileSync(opts["ssh-key"]);
  } catch (err) {
    fail(`--ssh-key: cannot read ${opts["ssh-key"]}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

let raw: unknown;
try {
  raw = JSON.parse(readFileSync(opts.target, "utf8"));
} catch (err) {
  const e = err as NodeJS.ErrnoException;
  fail(`--target ${opts.target}: ${e.code ? `cannot read it (${e.code})` : `not JSON: ${e.message}`}`);
}
const parsed = ProbeTargetSchema.safeParse(raw);
if (!parsed.success) {
  fail(`${opts.target}: ${parsed.error.issues.map((i) => `${formatPath("", i.path).replace(/^\./, "") || "(root)"}: ${i.message}`).join("; ")}`);
}

async function main(target: ProbeTarget): Promise<void> {
  const startedAt = new Date();
  const results = await runProbe(target, { since, ports, sshPort, sshKey: opts["ssh-key"] });
  console.log(formatTable(results));
  if (opts.json) writeFileSync(opts.json, toJson(target.stack, startedAt, results));
  process.exit(allPassed(results) ? 0 : 1);
}

// runProbe turns every check's error into a row; anything else is a bug, still reported in one line.
main(parsed.data!).catch((err: unknown) => {
  process.stderr.write(`probe: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
