import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { FleetComponent } from "../src/component";
import type { ProjectModel } from "../src/model/fleet";
import { signApiKey, opaqueApiKey } from "../src/supabase/keys";
import { RELEASES } from "../src/supabase/releases";

export interface SupabaseProjectArgs {
  readonly env: string;
  readonly project: ProjectModel;
}

/** Secrets one project needs, all made here and all secret outputs. */
export interface ProjectSecrets {
  readonly postgresPassword: pulumi.Output<string>;
  readonly jwtSecret: pulumi.Output<string>;
  readonly dashboardPassword: pulumi.Output<string>;
  readonly secretKeyBase: pulumi.Output<string>;
  readonly vaultEncKey: pulumi.Output<string>;
  readonly pgMetaCryptoKey: pulumi.Output<string>;
  readonly realtimeEncKey: pulumi.Output<string>;
  readonly s3AccessKeyId: pulumi.Output<string>;
  readonly s3AccessKeySecret: pulumi.Output<string>;
}

/** One tenant's Supabase: its secrets and API keys, its services and its routes. */
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

  constructor(name: string, args: SupabaseProjectArgs, opts?: pulumi.ComponentResourceOptions) {
    super("supafleet:index:SupabaseProject", name, opts);
    const child = { parent: this };
    const p = args.project;
    const release = RELEASES[p.release];
    if (release === undefined) throw new Error(`project ${name}: unknown release ${p.release}`);

    // Letters and digits only: these end up in URLs and env files unquoted.
    const password = (id: string, length: number): pulumi.Output<string> =>
      new random.RandomPassword(`${name}-${id}`, { length, special: false }, child).result;
    const hexBytes = (id: string, length: number): pulumi.Output<string> => new random.RandomBytes(`${name}-${id}`, { length }, child).hex;

    this.secrets = {
      postgresPassword: password("postgres-password", 32),
      jwtSecret: password("jwt-secret", 48),
      dashboardPassword: password("dashboard-password", 24),
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
        pulumi.secret(new random.RandomBytes(`${name}-${kind}-key`, { length: 16 }, child).base64.apply((b) => opaqueApiKey(kind, Buffer.from(b, "base64"))));
      this.publishableKey = opaque("publishable");
      this.secretKey = opaque("secret");
    }

    this.apiUrl = `https://${p.hostnames.api}`;
    this.studioUrl = `https://${p.hostnames.studio}`;
    this.connectionString = pulumi.secret(
      pulumi.interpolate`postgresql://postgres:${this.secrets.postgresPassword}@${p.worker.address}:${p.ports.db}/postgres`,
    );

    this.registerOutputs({
      apiUrl: this.apiUrl,
      studioUrl: this.studioUrl,
      anonKey: this.anonKey,
      serviceRoleKey: this.serviceRoleKey,
      connectionString: this.connectionString,
    });
  }
}
