// supafleet: the edge runtime's main service. It routes /<function-name> to
// that function's folder, each in its own isolated worker.

// Provided by the edge runtime.
declare const EdgeRuntime: {
  userWorkers: { create(options: Record<string, unknown>): Promise<{ fetch(req: Request): Promise<Response> }> };
};
Deno.serve(async (req: Request) => {
  const url = new URL(req.url);
  const name = url.pathname.split("/").filter(Boolean)[0];
  if (!name || !/^[a-z0-9_-]+$/.test(name)) {
    return new Response(JSON.stringify({ error: "missing or invalid function name" }), { status: 400, headers: { "Content-Type": "application/json" } });
  }
  try {
    const worker = await EdgeRuntime.userWorkers.create({
      servicePath: `/home/deno/functions/${name}`,
      memoryLimitMb: 150,
      workerTimeoutMs: 60_000,
      noModuleCache: false,
      envVars: Object.entries(Deno.env.toObject()),
    });
    return await worker.fetch(req);
  } catch (e) {
    return new Response(JSON.stringify({ error: String(e) }), { status: 500, headers: { "Content-Type": "application/json" } });
  }
});
