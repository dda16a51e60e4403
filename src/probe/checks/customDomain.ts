import type { Outcome } from "../result";

/** The probe's row for one of a project's custom domains. */
export const customDomainCheckName = (domainUrl: string): string => `domain ${new URL(domainUrl).host}`;

/**
 * GoTrue's health (its version and name) must read the same; PostgREST's root must answer 200 (its
 * OpenAPI text is the same project's too, but whether it names the request's host is PostgREST's business).
 */
const PATHS = [
  { path: "/auth/v1/health", sameBody: true },
  { path: "/rest/v1/", sameBody: false },
] as const;

interface Answer {
  readonly status: number;
  readonly body: string;
}

async function get(base: string, path: string, anonKey: string): Promise<Answer> {
  const res = await fetch(`${base.replace(/\/+$/, "")}${path}`, { headers: { apikey: anonKey, authorization: `Bearer ${anonKey}` }, redirect: "manual", signal: AbortSignal.timeout(15_000) });
  return { status: res.status, body: (await res.text()).slice(0, 65_536) };
}

const brief = (s: string): string => s.replace(/\s+/g, " ").trim().slice(0, 120);

/** The custom domain answers each path as the fleet hostname does: 200, and the same body where it must be. */
export function customDomainVerdict(domainUrl: string, answers: readonly { path: string; sameBody: boolean; fleet: Answer; custom: Answer }[]): Outcome {
  for (const { path, sameBody, fleet, custom } of answers) {
    if (fleet.status !== 200) return { ok: false, detail: `the fleet hostname answered ${path} with ${fleet.status}, so there is nothing to compare ${domainUrl} with` };
    if (custom.status !== 200) return { ok: false, detail: `${domainUrl}${path} answered ${custom.status} (${brief(custom.body) || "no body"}), the fleet hostname 200` };
    if (sameBody && custom.body !== fleet.body) return { ok: false, detail: `${domainUrl}${path} answered 200 with another body than the fleet hostname's: ${brief(custom.body)}` };
  }
  return { ok: true, detail: `${domainUrl} answers ${answers.map((a) => a.path).join(" and ")} as the fleet hostname does` };
}

/** A client's own domain, over its own certificate, reaches the same project as its fleet hostname. */
export async function checkCustomDomain(apiUrl: string, domainUrl: string, anonKey: string): Promise<Outcome> {
  const answers = [];
  for (const { path, sameBody } of PATHS) answers.push({ path, sameBody, fleet: await get(apiUrl, path, anonKey), custom: await get(domainUrl, path, anonKey) });
  return customDomainVerdict(domainUrl, answers);
}
