import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as command from "@pulumi/command";
import { FleetComponent } from "../src/resources/component";
import { publicDigest } from "../src/resources/digest";
import { workerConnection, type SshPath } from "../src/resources/connections";
import type { ProjectPlan } from "../src/plan/types";
import { renderPlain, renderWithSecrets } from "../src/render/artifact";
import { renderScript } from "../src/render/script";
import { template } from "../src/render/templates";
import { PROJECT_ASSETS } from "../src/supabase/assets";
import { composeImages, projectCompose, renderCompose } from "../src/supabase/compose";
import { passwordChangeSql } from "../src/supabase/dbPassword";
import { projectEnv, renderEnvFile, type ProjectSecretValues } from "../src/supabase/env";
import { AUTH_FILE, GOTRUE_UID, authEnv, renderAuthFile, type AuthSecrets } from "../src/supabase/authEnv";
import { signApiKey, opaqueApiKey } from "../src/supabase/keys";
import { kongConfig, renderKongConfig } from "../src/supabase/kong";
import { containerName } from "../src/supabase/naming";
import { RELEASES } from "../src/model/releases";
import type { ServiceName } from "../src/model/services";
import { DEFAULT_FUNCTIONS } from "../src/functions/bundle";

export interface SupabaseProjectArgs {
  readonly env: string;
  readonly project: ProjectPlan;
  readonly ssh: SshPath;
  /** The worker has booted and WireGuard is up. */
  readonly workerReady: pulumi.Resource;
  readonly smtpPassword: pulumi.Input<string>;
  /** Its Auth secrets: each declared OAuth provider's client secret, and the SMS sender's token. */
  readonly authSecrets: AuthSecrets<pulumi.Input<string>>;
  /** cloudflared checks Access's JWT for the Studio hostname: Kong asks for no dashboard password (src/supabase/kong.ts). */
  readonly studioAccessChecked?: boolean;
  /**
   * What the deploy also waits for: its backup's credential (deleted after the deploy's final backup,
   * never before) and, for a moving project, the final backup and stop on the worker it leaves.
   */
  readonly deployAfter?: pulumi.Input<pulumi.Resource[]>;
}

/** Secrets one project needs, all made here and all secret outputs. */
export interface ProjectSecrets {
  readonly postgresPassword: pulumi.Output<string>;
  readonly jwtSecret: pulumi.Output<string>;
  /** Only for a Studio on the worker (studio: worker): a Studio on the master has no password of its own. */
  readonly dashboardPassword?: pulumi.Output<string>;
  readonly secretKeyBase: pulumi.Output<string>;
  readonly vaultEncKey: pulumi.Output<string>;
  readonly pgMetaCryptoKey: pulumi.Output<string>;
  readonly realtimeEncKey: pulumi.Output<string>;
  readonly s3AccessKeyId: pulumi.Output<string>;
  readonly s3AccessKeySecret: pulumi.Output<string>;
}

/** Edge functions a project without a functions folder runs (besides `main`, the router); ProjectFunctions deploys them. */
export const PROJECT_FUNCTIONS = DEFAULT_FUNCTIONS;


/**
 * One tenant's Supabase on its worker: its secrets and API keys, its compose
 * project (every service pinned to the project's release, every port on the
 * worker's WireGuard address), and the commands that place and apply it.
 */
export class SupabaseProject extends FleetComponent {
  readonly secrets: ProjectSecrets;
  readonly anonKey: pulumi.Output<string>;
  readonly serviceRoleKey: pulumi.Output<string>;
  readonly publishableKey?: pulumi.Output<string>;
  readonly secretKey?: pulumi.Output<string>;
  readonly apiUrl: string;
  readonly studioUrl: string;
  /** Postgres on the WireGuard network, for operators and automations. */
  readonly connectionString: pulumi.Output<string>;
  readonly release: string;
  readonly images: Readonly<Partial<Record<ServiceName, { image: string }>>>;
  /** Completes once every service is healthy; later steps (migrations, backups) wait on it. */
  readonly deployed: command.remote.Command;

  constructor(name: string, args: SupabaseProjectArgs, opts?: pulumi.ComponentResourceOptions) {
    super("supafleet:index:SupabaseProject", name, opts);
    const child = { parent: this };
    const p = args.project;
    const release = RELEASES[p.release];
    if (release === undefined) throw new pulumi.ResourceError(`project ${name}: unknown release ${p.release}`, this);
    this.release = p.release;

    // Letters and digits only: these end up in URLs and env files unquoted.
    // A rotation counter above 0 is a keeper: raising it replaces the secret. At 0 there is none, so
    // a stack file that never rotated keeps the secrets it was first given.
    const keepers = (round: number): { keepers?: Record<string, string> } => (round > 0 ? { keepers: { rotation: String(round) } } : {});
    const password = (id: string, length: number, round = 0): pulumi.Output<string> =>
      new random.RandomPassword(`${name}-${id}`, { length, special: false, ...keepers(round) }, child).result;
    const hexBytes = (id: string, length: number): pulumi.Output<string> => new random.RandomBytes(`${name}-${id}`, { length }, child).hex;

    this.secrets = {
      postgresPassword: password("postgres-password", 32),
      jwtSecret: password("jwt-secret", 48, p.rotate.jwt),
      ...(p.studio === "worker" ? { dashboardPassword: password("dashboard-password", 24, p.rotate.dashboard) } : {}),
      secretKeyBase: password("secret-key-base", 64),
      vaultEncKey: password("vault-enc-key", 32),
      pgMetaCryptoKey: password("pg-meta-crypto-key", 32),
      realtimeEncKey: password("realtime-enc-key", 16),
      s3AccessKeyId: hexBytes("s3-access-key-id", 16),
      s3AccessKeySecret: hexBytes("s3-access-key-secret", 32),
    };

    this.anonKey = pulumi.secret(this.secrets.jwtSecret.apply((s) => signApiKey(s, "anon")));
    this.serviceRoleKey = pulumi.secret(this.secrets.jwtSecret.apply((s) => signApiKey(s, "service_role")));
    if (release.opaqueKeys) {
      const opaque = (kind: "publishable" | "secret"): pulumi.Output<string> =>
        pulumi.secret(new random.RandomBytes(`${name}-${kind}-key`, { length: 16, ...keepers(p.rotate.apiKeys) }, child).base64.apply((b) => opaqueApiKey(kind, Buffer.from(b, "base64"))));
      this.publishableKey = opaque("publishable");
      this.secretKey = opaque("secret");
    }

    this.apiUrl = `https://${p.hostnames.api}`;
    this.studioUrl = `https://${p.hostnames.studio}`;
    this.connectionString = pulumi.secret(
      pulumi.interpolate`postgresql://postgres:${this.secrets.postgresPassword}@${p.worker.address}:${p.ports.db}/postgres`,
    );

    // The two secret files: the .env every service reads, and Kong's config with the keys.
    const values: Record<keyof ProjectSecretValues, pulumi.Input<string>> = {
      ...this.secrets,
      anonKey: this.anonKey,
      serviceRoleKey: this.serviceRoleKey,
      smtpPassword: args.smtpPassword,
      ...(this.publishableKey && this.secretKey ? { publishableKey: this.publishableKey, secretKey: this.secretKey } : {}),
    } as Record<keyof ProjectSecretValues, pulumi.Input<string>>;
    const envFile = this.keep(
      renderWithSecrets(`projects/${name}/secrets/.env`, values, (s) =>
        renderEnvFile(projectEnv({ project: name, tenantName: p.tenant.name, apiUrl: this.apiUrl, jwtExpiry: p.auth.jwtExpiry, smtp: p.smtp, secrets: s, services: p.services })),
      ),
    );
    const kongFile = this.keep(
      renderWithSecrets(`projects/${name}/secrets/kong.yml`, values, (s) =>
        renderKongConfig(kongConfig(s, { services: p.services, studioHostname: p.hostnames.studio, studioAccessChecked: args.studioAccessChecked === true }, { limits: p.rateLimits, jwtSecret: s.jwtSecret })),
      ),
    );

    const compose = projectCompose({
      project: name,
      release,
      bindAddress: p.worker.address,
      ports: p.ports,
      accessTokenHook: p.schemaPacks.length > 0,
      services: p.services,
      ...(p.walArchive !== undefined ? { walArchive: p.walArchive } : {}),
    });
    this.images = composeImages(compose);
    // A digest of the secret files, so that a changed secret redeploys; a hash reveals nothing of them.
    const configDigest = publicDigest(pulumi.all([envFile, kongFile]).apply(([e, k]) => `${e}\0${k}`));
    const composeText = configDigest.apply((digest) => renderCompose({ ...compose, "x-supafleet": { release: p.release, "config-sha256": digest } }));
    this.keep(renderPlain(`projects/${name}/compose.yaml`, composeText));

    const connection = workerConnection(args.ssh, p.worker.address);
    const script = (file: string): string => renderScript(`worker/${file}`, { PROJECT: name });
    const dbPassword = new command.remote.Command(
      `${name}-db-password`,
      {
        connection,
        create: renderScript("worker/db-password.sh", { PROJECT: name, CONTAINER: containerName(name, "db") }),
        stdin: pulumi.secret(this.secrets.postgresPassword.apply(passwordChangeSql)),
      },
      { ...child, dependsOn: [args.workerReady] },
    );
    const config = new command.remote.Command(
      `${name}-config`,
      { connection, create: script("project-config.sh"), stdin: pulumi.secret(pulumi.all([envFile, kongFile]).apply(([env, kong]) => JSON.stringify({ env, kong }))) },
      { ...child, dependsOn: [dbPassword] },
    );
    const assets = new command.remote.Command(
      `${name}-assets`,
      { connection, create: script("project-assets.sh"), stdin: JSON.stringify({ files: Object.fromEntries(PROJECT_ASSETS.map((f) => [f, template(`supabase/${f}`)])) }) },
      { ...child, dependsOn: [args.workerReady] },
    );
    // Its Auth settings, in a file of their own that GoTrue reloads: a change re-runs only this command.
    const { smsAuthToken, providers } = args.authSecrets;
    const authSecrets: Record<string, pulumi.Input<string>> = { ...providers, ...(smsAuthToken !== undefined ? { smsAuthToken } : {}) };
    const authFile = this.keep(
      renderWithSecrets(`projects/${name}/auth.d/${AUTH_FILE}`, authSecrets, ({ smsAuthToken: token, ...secret }) =>
        renderAuthFile(
          authEnv(
            { auth: p.auth, apiHostname: p.hostnames.api, customHostnames: p.customDomains.map((d) => d.hostname) },
            { providers: secret, ...(token !== undefined ? { smsAuthToken: token } : {}) },
          ),
        ),
      ),
    );
    const authConfig = new command.remote.Command(
      `${name}-auth-config`,
      { connection, create: renderScript("worker/auth-config.sh", { PROJECT: name, AUTH_FILE, AUTH_UID: GOTRUE_UID }), stdin: authFile },
      { ...child, dependsOn: [args.workerReady] },
    );
    this.deployed = new command.remote.Command(
      `${name}-deploy`,
      {
        connection,
        // The health gate's API probe goes through the project's gateway, on the worker's mesh address.
        create: renderScript("worker/project-deploy.sh", { PROJECT: name, GATEWAY: `${p.worker.address}:${p.ports.gateway}` }),
        delete: script("project-remove.sh"),
        stdin: composeText,
      },
      { ...child, dependsOn: args.deployAfter === undefined ? [config, assets, authConfig] : pulumi.output(args.deployAfter).apply((more) => [config, assets, authConfig, ...more]) },
    );

    this.registerOutputs({
      apiUrl: this.apiUrl,
      studioUrl: this.studioUrl,
      release: this.release,
      images: this.images,
      anonKey: this.anonKey,
      serviceRoleKey: this.serviceRoleKey,
      connectionString: this.connectionString,
    });
  }
}
