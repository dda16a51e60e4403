import type { Outcome } from "../result";

/** The services a project may leave out that a client reaches through its gateway, by the path it reaches each at. */
export const GATEWAY_PATHS = { realtime: "/realtime/v1/", storage: "/storage/v1/", functions: "/functions/v1/" } as const;
export type GatewayService = keyof typeof GATEWAY_PATHS;

/** The probe's row for a service the project left out. */
export const absentCheckName = (service: GatewayService): string => `${service} left out`;

/**
 * Kong's own answer when no route matches (2.8 and 3.x alike). A bare 404 is not enough: a service
 * behind a route answers 404 for a path it does not know, and that service would still be running.
 */
const NO_ROUTE = "no Route matched";

function messageOf(body: string): string | undefined {
  try {
    const m = (JSON.parse(body) as { message?: unknown }).message;
    return typeof m === "string" ? m : undefined;
  } catch {
    return undefined;
  }
}

export function absentVerdict(url: string, status: number, body: string): Outcome {
  const message = messageOf(body);
  if (status === 404 && message?.includes(NO_ROUTE)) return { ok: true, detail: `${url}: 404 "${message}": the gateway has no route there, as the project's services say` };
  const said = message ?? body.replace(/\s+/g, " ").trim().slice(0, 120);
  if (status === 404) return { ok: false, detail: `${url}: 404 from behind a route (${said || "no body"}), not the gateway's "${NO_ROUTE}": the service is still routed` };
  return { ok: false, detail: `${url}: answered ${status}, not 404: the gateway still routes to a service the project left out` };
}

/** What a user would try: the service's path with the anon key, which must meet the gateway's own 404. */
export async function checkAbsent(apiUrl: string, anonKey: string, service: GatewayService): Promise<Outcome> {
  const url = `${apiUrl.replace(/\/+$/, "")}${GATEWAY_PATHS[service]}`;
  const res = await fetch(url, { headers: { apikey: anonKey, authorization: `Bearer ${anonKey}` }, redirect: "manual", signal: AbortSignal.timeout(15_000) });
  return absentVerdict(url, res.status, (await res.text()).slice(0, 4096));
}
