/** The services of one Supabase project, in the order they start. */
export const SERVICES = [
  "db",
  "meta",
  "auth",
  "rest",
  "realtime",
  "storage",
  "imgproxy",
  "functions",
  "gateway",
  "studio",
] as const;

export type ServiceName = (typeof SERVICES)[number];
