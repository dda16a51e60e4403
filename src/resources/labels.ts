/** Hetzner labels every supafleet resource carries; the policy pack checks role and env. */
export function labels(env: string, role: string, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return { "managed-by": "supafleet", env, role, ...extra };
}
