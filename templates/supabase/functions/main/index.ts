// supafleet: the edge runtime's main service. It routes /<function-name> to that
// function's folder, each in its own isolated worker, after checking the caller's JWT
// where that function asks for it (./route.ts, with the choices the deploy writes to
// ./verify-jwt.json). The VERIFY_JWT variable upstream's router reads is not used.
import { decide, parseManifest } from "./route.ts";

// Provided by the edge runtime.
declare const EdgeRuntime: {
  userWorkers: { create(options: Record<string, unknown>): Promise<{ fetch(req: Request): Promise<Response> }> };
};

function readManifest(): string | undefined {
  try {
    return Deno.readTextFileSync(new URL("./verify-jwt.json", import.meta.url));
  } catch {
    return undefined;
  }
}

// Read once: a deploy that changes it restarts the runtime.
const manifest = parseManifest(readManifest());
const secret = Deno.env.get("JWT_SECRET");
const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });

Deno.serve(async (req: Request) => {
  const url = new URL(req.url);
  const decision = await decide({ method: req.method, path: url.pathname, authorization: req.headers.get("authorization") }, manifest, secret, Math.floor(Date.now() / 1000));
  if ("refuse" in decision) {
    const { status, code, message } = decision.refuse;
    return json(status, { code, message, msg: message }, { "sb-error-code": code });
  }
  try {
    const worker = await EdgeRuntime.userWorkers.create({
      servicePath: `/home/deno/functions/${decision.route}`,
      memoryLimitMb: 150,
      workerTimeoutMs: 60_000,
      noModuleCache: false,
      envVars: Object.entries(Deno.env.toObject()),
    });
    return await worker.fetch(req);
  } catch (e) {
    return json(500, { error: String(e) });
  }
});
