/**
 * The operator console's entry (bundled by esbuild into one file for the
 * master): reads CONSOLE_DIR (fleet.json, keys.json, state/) and
 * CONSOLE_LISTEN (address:port), and serves until stopped.
 */
import { join } from "node:path";
import { accessSettings } from "./access";
import { ConsoleInputError, loadConsoleInputs, parseListen } from "./inputs";
import { createConsole } from "./server";

async function main(): Promise<void> {
  const dir = process.env.CONSOLE_DIR || "/opt/supafleet/master/console";
  const { host, port } = parseListen(process.env.CONSOLE_LISTEN || "10.100.0.1:3002");
  const inputs = loadConsoleInputs(dir);
  const app = createConsole({ inputs, stateDir: join(dir, "state"), access: accessSettings(inputs.fleet.access.teamName, inputs.fleet.access.aud) });
  await app.listen(host, port);
  process.stderr.write(`console: listening on ${host}:${port} for ${inputs.fleet.env} (${inputs.fleet.workers.length} workers)\n`);
  const stop = (): void => void app.close().then(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`console: ${e instanceof ConsoleInputError ? e.message : `cannot start: ${e instanceof Error ? e.message : String(e)}`}\n`);
  process.exit(1);
});
