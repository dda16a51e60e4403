import type { StudioPorts } from "../model/ports";
import type { SupabaseRelease } from "../model/releases";
import { SERVICE_MEMORY_MIB, SERVICE_RESERVATION_MIB } from "../model/sizing";
import type { ComposeService } from "../supabase/compose";
import { studioService } from "../supabase/studio";
import { toYaml } from "../render/yaml";
import { STUDIO_LABEL } from "./waker";

export interface MasterStudioArgs {
  readonly project: string;
  readonly release: SupabaseRelease;
  readonly ports: StudioPorts;
  /** The project's gateway on its worker's WireGuard address, e.g. 10.100.0.2:20010. */
  readonly gateway: string;
}

export interface MasterStudioCompose {
  readonly name: string;
  readonly services: { readonly studio: ComposeService };
  readonly volumes: Readonly<Record<string, { readonly name: string }>>;
  readonly networks: { readonly default: { readonly name: string } };
}

/** The master's compose project for one project's Studio: `<project>-studio`. */
export const studioComposeName = (project: string): string => `${project}-studio`;

/**
 * One project's Studio on the master. Its waker starts it (restart "no": it never comes back by
 * itself after a reboot or an idle stop); it publishes on loopback only, where the waker's proxy
 * reaches it; and it talks to the project only through the gateway, with the service key.
 */
export function masterStudioCompose(a: MasterStudioArgs): MasterStudioCompose {
  const name = studioComposeName(a.project);
  const snippets = `${name}-snippets`;
  return {
    name,
    services: {
      studio: {
        image: a.release.images.studio,
        container_name: name,
        restart: "no",
        mem_limit: `${SERVICE_MEMORY_MIB.studio}m`,
        mem_reservation: `${SERVICE_RESERVATION_MIB.studio}m`,
        ...studioService({ pgMetaUrl: `http://${a.gateway}/pg`, supabaseUrl: `http://${a.gateway}` }),
        ports: [`127.0.0.1:${a.ports.container}:3000`],
        // Saved SQL snippets outlive the container; the functions folder stays empty (sources live on the worker).
        volumes: [`${snippets}:/app/snippets`],
        labels: { [STUDIO_LABEL]: a.project },
      },
    },
    volumes: { [snippets]: { name: snippets } },
    networks: { default: { name } },
  };
}

export function renderMasterStudioCompose(c: MasterStudioCompose): string {
  return `# supafleet: the Studio of ${c.services.studio.labels![STUDIO_LABEL]} on the master. Generated; secrets come from .env beside it.\n${toYaml(c)}`;
}

/** The .env beside it: what the Studio needs of its project, every value a secret or a name. */
export interface MasterStudioSecrets {
  readonly postgresPassword: string;
  readonly anonKey: string;
  readonly serviceRoleKey: string;
  readonly jwtSecret: string;
  readonly pgMetaCryptoKey: string;
}

export function masterStudioEnv(a: { readonly tenantName: string; readonly project: string; readonly apiUrl: string; readonly secrets: MasterStudioSecrets }): Record<string, string> {
  const s = a.secrets;
  return {
    POSTGRES_PASSWORD: s.postgresPassword,
    ANON_KEY: s.anonKey,
    SERVICE_ROLE_KEY: s.serviceRoleKey,
    JWT_SECRET: s.jwtSecret,
    PG_META_CRYPTO_KEY: s.pgMetaCryptoKey,
    SUPABASE_PUBLIC_URL: a.apiUrl,
    STUDIO_DEFAULT_ORGANIZATION: a.tenantName,
    STUDIO_DEFAULT_PROJECT: a.project,
  };
}
