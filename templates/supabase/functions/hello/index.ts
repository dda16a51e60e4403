// supafleet: a function every project starts with, to prove the runtime works.
Deno.serve(async (req: Request) => {
  const body = req.method === "POST" ? await req.json().catch(() => ({})) : {};
  const name = typeof body.name === "string" ? body.name : "world";
  return new Response(JSON.stringify({ message: `Hello ${name}!` }), { headers: { "Content-Type": "application/json" } });
});
