import { client } from "../clients";
import type { Outcome } from "../result";
import type { ProbeTarget } from "../target";

/** An edge function through Kong with the anon key, as a browser calls it. */
export async function checkFunction(project: ProbeTarget["projects"][number], name: string): Promise<Outcome> {
  const { data, error, response } = await client(project.apiUrl, project.anonKey).functions.invoke(name, { body: { name: "probe" } });
  if (error) {
    const ctx = (error as { context?: unknown }).context;
    const status = ctx instanceof Response ? `${ctx.status} ${(await ctx.text().catch(() => "")).slice(0, 200)}` : "";
    throw new Error(`${name} failed: ${error.message}${status ? ` (${status.trim()})` : ""}`);
  }
  const type = response?.headers.get("content-type") ?? "";
  if (!type.includes("application/json") || typeof data !== "object" || data === null) {
    return { ok: false, detail: `${name} answered ${response?.status ?? "?"} with ${type || "no content type"}, not JSON` };
  }
  const body = JSON.stringify(data);
  if (name === "hello" && body !== JSON.stringify({ message: "Hello probe!" })) return { ok: false, detail: `hello answered ${body}, expected {"message":"Hello probe!"}` };
  return { ok: true, detail: `${name} answered ${response?.status ?? 200}: ${body.slice(0, 120)}` };
}
