import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { GATE_IMAGE, N8N_IMAGE } from "../../../src/automation/n8nCompose";
import { CONSOLE_IMAGE } from "../../../src/console/consoleCompose";
import { KUMA_IMAGE } from "../../../src/monitoring/kumaCompose";
import { RELEASES } from "../../../src/model/releases";
import type { ServiceName } from "../../../src/model/services";

/**
 * Every image the lab's engine needs, under the exact names the rendered
 * compose files use. Nothing can be pulled here, so each is built locally on
 * one Debian 12 base (real PostgreSQL 15, Node, curl, wget, Caddy):
 * - real servers where a registry has them: PostgreSQL, postgres-meta, Uptime Kuma, n8n, Caddy;
 * - stand-ins (tests/lab/images/standin) for GoTrue, PostgREST, Realtime, Storage, imgproxy,
 *   edge-runtime, Kong and Studio, which answer their service's healthcheck and, for Kong and
 *   PostgREST, the deploy gate's API call for real.
 */
export const ROOT = join(__dirname, "../../..");
const IMAGES_DIR = __dirname;
export const BASE_IMAGE = "supafleet-lab/base";

/**
 * An image built FROM the base (a Dockerfile body and the folder it is built in), or,
 * for the large npm trees, imported as one layer: the base's tree plus `trees`, with
 * `changes` as `docker import -c` applies them. The builder copies file by file, which
 * takes n8n's 170,000 files nine minutes; an import takes about one.
 */
export type LabImage = {
  /** The first is built; the others are tags of it. */
  readonly names: readonly string[];
  /** Files whose content decides whether a cached image is still current. */
  readonly inputs: readonly string[];
} & (
  | {
      readonly kind: "build";
      readonly dockerfile: string;
      /** The build context; only what the Dockerfile copies is read. */
      readonly context: string;
    }
  | {
      readonly kind: "import";
      /** Host folders and where they go in the image. */
      readonly trees: readonly { readonly from: string; readonly to: string }[];
      readonly changes: readonly string[];
    }
);

const standinFiles = ["standin/standin.mjs", "standin/bin/auth", "standin/bin/kong", "standin/bin/postgrest", "standin/bin/imgproxy", "standin/bin/edge-runtime", "standin/bin/standin-check"].map((f) =>
  join(IMAGES_DIR, f),
);

/** How each stand-in starts when the compose file gives no command: as its real image's entrypoint would. */
const STANDIN_START: Readonly<Partial<Record<ServiceName, { entrypoint?: string[]; cmd?: string[] }>>> = {
  auth: { cmd: ["auth"] },
  rest: { cmd: ["postgrest"] },
  realtime: { cmd: ["node", "/opt/standin/standin.mjs", "serve", "realtime"] },
  storage: { cmd: ["node", "/opt/standin/standin.mjs", "serve", "storage"] },
  imgproxy: { cmd: ["imgproxy"] },
  functions: { entrypoint: ["edge-runtime"], cmd: ["start"] },
  gateway: { cmd: ["kong", "docker-start"] },
  studio: { cmd: ["node", "/opt/standin/standin.mjs", "serve", "studio"] },
};

const STANDIN_SERVICES = Object.keys(STANDIN_START) as ServiceName[];

/** The tag a test names in a release to get a service that never becomes healthy. */
export const UNHEALTHY_SUFFIX = "-lab-unhealthy";

function imagesOf(service: ServiceName): string[] {
  return [...new Set(Object.values(RELEASES).map((r) => r.images[service]))];
}

const exec = (argv: readonly string[]): string => JSON.stringify(argv);

function standin(service: ServiceName, unhealthy: boolean): LabImage {
  const start = STANDIN_START[service]!;
  const names = imagesOf(service).map((n) => (unhealthy ? `${n}${UNHEALTHY_SUFFIX}` : n));
  return {
    kind: "build",
    names,
    context: IMAGES_DIR,
    inputs: standinFiles,
    dockerfile: [
      `FROM ${BASE_IMAGE}`,
      "COPY standin/standin.mjs /opt/standin/standin.mjs",
      "COPY standin/node_modules/yaml /opt/standin/node_modules/yaml",
      "COPY standin/bin/ /usr/local/bin/",
      ...(unhealthy ? ["ENV STANDIN_HEALTH=never"] : []),
      `ENTRYPOINT ${exec(start.entrypoint ?? [])}`,
      `CMD ${exec(start.cmd ?? [])}`,
    ].join("\n"),
  };
}

/**
 * The npm build of Kuma keeps some of its old SQL patches in db/, where the
 * release image has them, and Kuma reads them, in db/old_migrations/: without
 * them a fresh Kuma stops at its first start. Put there, one file each.
 */
function kumaOldPatches(): { from: string; to: string }[] {
  const db = join(ROOT, "tests/addons/node_modules/uptime-kuma/db");
  if (!existsSync(db)) return [];
  return readdirSync(db)
    .filter((f) => /^patch-[a-z0-9-]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ from: join(db, f), to: `app/db/old_migrations/${f}` }));
}

export function labImages(): LabImage[] {
  return [
    {
      kind: "build",
      names: imagesOf("db"),
      context: IMAGES_DIR,
      inputs: ["postgres/docker-entrypoint.sh", "postgres/postgresql.conf", "postgres/supabase-shape.sql"].map((f) => join(IMAGES_DIR, f)),
      dockerfile: [
        `FROM ${BASE_IMAGE}`,
        "COPY postgres/postgresql.conf /etc/postgresql/postgresql.conf",
        "COPY postgres/supabase-shape.sql /usr/local/share/supabase/supabase-shape.sql",
        "COPY postgres/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh",
        "RUN mkdir -p /docker-entrypoint-initdb.d /etc/postgresql-custom /var/lib/postgresql/data && chown postgres:postgres /etc/postgresql-custom",
        'ENTRYPOINT ["docker-entrypoint.sh"]',
        'CMD ["postgres"]',
        "STOPSIGNAL SIGINT",
      ].join("\n"),
    },
    {
      kind: "import",
      names: imagesOf("meta"),
      inputs: [join(ROOT, "tests/addons/postgres-meta/package-lock.json")],
      trees: [{ from: join(ROOT, "tests/addons/postgres-meta/node_modules"), to: "usr/src/app/node_modules" }],
      changes: ["WORKDIR /usr/src/app", 'CMD ["node", "node_modules/@supabase/postgres-meta/dist/server/server.js"]'],
    },
    ...STANDIN_SERVICES.map((s) => standin(s, false)),
    standin("auth", true),
    {
      kind: "import",
      names: [KUMA_IMAGE],
      inputs: [join(ROOT, "tests/addons/package-lock.json")],
      trees: [
        { from: join(ROOT, "tests/addons/node_modules/uptime-kuma"), to: "app" },
        { from: join(ROOT, "tests/addons/node_modules"), to: "app/node_modules" },
        ...kumaOldPatches(),
      ],
      changes: ["WORKDIR /app", "ENV UPTIME_KUMA_IS_CONTAINER=1", 'ENTRYPOINT ["tini", "--"]', 'CMD ["node", "server/server.js"]'],
    },
    {
      kind: "import",
      names: [N8N_IMAGE],
      inputs: [join(ROOT, "tests/addons/n8n/package-lock.json")],
      trees: [{ from: join(ROOT, "tests/addons/n8n/node_modules"), to: "usr/local/lib/n8n/node_modules" }],
      // `n8n` on PATH as in the real image: npm's own link to it.
      changes: [
        "ENV PATH=/usr/local/lib/n8n/node_modules/.bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "USER node",
        "WORKDIR /home/node",
        "ENV NODE_ENV=production",
        'ENTRYPOINT ["tini", "--"]',
        'CMD ["n8n"]',
      ],
    },
    {
      kind: "build",
      names: [GATE_IMAGE],
      context: IMAGES_DIR,
      inputs: [],
      dockerfile: [`FROM ${BASE_IMAGE}`, 'CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]'].join("\n"),
    },
    {
      // Node's own image, for the operator console: the base has Node and its node user (uid 1000), as that image does.
      kind: "build",
      names: [CONSOLE_IMAGE],
      context: IMAGES_DIR,
      inputs: [],
      dockerfile: [`FROM ${BASE_IMAGE}`, 'CMD ["node"]'].join("\n"),
    },
  ];
}

/** What the base image is made of: Debian 12 and its packages, and this machine's Node. */
export const BASE_PACKAGES = ["postgresql-15", "postgresql-client-15", "curl", "wget", "ca-certificates", "caddy", "tini", "gosu", "procps", "netcat-openbsd", "iproute2"];
