import { SERVICES, type ServiceName } from "./services";

/** The services a project may leave out. The others are its API, which every project runs. */
export const OPTIONAL_SERVICES = ["realtime", "storage", "imgproxy", "functions"] as const;
export type OptionalService = (typeof OPTIONAL_SERVICES)[number];

/** Where a project's Studio runs. */
export type StudioLayout = "master" | "worker";

export interface ProjectShape {
  readonly services: Readonly<Record<OptionalService, boolean>>;
  readonly studio: StudioLayout;
}

export const FULL_SERVICES: Readonly<Record<OptionalService, boolean>> = { realtime: true, storage: true, imgproxy: true, functions: true };
export const API_ONLY_SERVICES: Readonly<Record<OptionalService, boolean>> = { realtime: false, storage: false, imgproxy: false, functions: false };

const isOptional = (s: ServiceName): s is OptionalService => (OPTIONAL_SERVICES as readonly string[]).includes(s);

/** The containers a project runs on its worker, in start order. */
export function workerServices(shape: ProjectShape): ServiceName[] {
  return SERVICES.filter((s) => (s === "studio" ? shape.studio === "worker" : !isOptional(s) || shape.services[s]));
}
