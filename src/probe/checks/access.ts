import type { Outcome } from "../result";

/** What an unauthenticated request must meet: Cloudflare Access's login redirect or its refusal, never the app. */
export function accessVerdict(url: string, status: number, location: string | null): Outcome {
  if (status === 401 || status === 403) return { ok: true, detail: `${url}: ${status} from Access` };
  if (status >= 200 && status < 300) return { ok: false, detail: `${url}: answered ${status} without Access: the app is public` };
  if (status >= 300 && status < 400) {
    if (!location) return { ok: false, detail: `${url}: ${status} redirect without a Location` };
    const target = new URL(location, url);
    const toAccess = target.pathname.includes("/cdn-cgi/access/login") || target.hostname.endsWith(".cloudflareaccess.com");
    if (toAccess && (status === 302 || status === 303)) return { ok: true, detail: `${url}: ${status} to ${target.origin}${target.pathname}` };
    return { ok: false, detail: `${url}: ${status} to ${target.href}, not Cloudflare Access's login` };
  }
  return { ok: false, detail: `${url}: answered ${status}, not Cloudflare Access` };
}

export async function checkAccess(url: string): Promise<Outcome> {
  const res = await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(15_000) });
  await res.body?.cancel();
  return accessVerdict(url, res.status, res.headers.get("location"));
}
