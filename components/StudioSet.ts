import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { FleetComponent } from "../src/resources/component";
import { publicDigest } from "../src/resources/digest";
import { masterConnection, type SshPath } from "../src/resources/connections";
import { renderPlain, renderWithSecrets } from "../src/render/artifact";
import { renderScript } from "../src/render/script";
import { RELEASES } from "../src/model/releases";
import { studioPorts } from "../src/model/ports";
import type { ProjectPlan } from "../src/plan/types";
import { renderEnvFile } from "../src/supabase/env";
import { masterStudioCompose, masterStudioEnv, renderMasterStudioCompose, type MasterStudioSecrets } from "../src/studio/compose";
import { studioDir, studioFleetFiles, studioSocketUnit, studioWakerFiles } from "../src/studio/waker";

/** A project whose Studio runs on the master, with the secrets its Studio needs. */
export interface MasterStudio {
  readonly project: ProjectPlan;
  readonly apiUrl: string;
  readonly secrets: Readonly<Record<keyof MasterStudioSecrets, pulumi.Input<string>>>;
}

export interface StudioSetArgs {
  readonly ssh: SshPath;
  /** The master is up (boot data ran, WireGuard is up). */
  readonly masterReady: pulumi.Resource;
  readonly maxRunning: number;
  readonly idleMinutes: number;
  readonly studios: readonly MasterStudio[];
}

/**
 * The Studios on the master (docs/studio.md): the waker's units and script once, then one
 * child per project whose Studio runs here: its compose file, .env, and socket. Nothing
 * starts a Studio but a request to its hostname; each stops after `idleMinutes` quiet.
 * Adding or moving one project's Studio touches only that project's children.
 */
export class StudioSet extends FleetComponent {
  /** Each project's installed Studio: the tunnel's hostname for it waits on this. */
  readonly installed: command.remote.Command[] = [];

  constructor(name: string, args: StudioSetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("supafleet:index:StudioSet", name, opts);
    const child = { parent: this };
    const connection = masterConnection(args.ssh);
    const install = renderScript("host/install-files.sh");

    const tools = new command.remote.Command(
      `${name}-tools`,
      { connection, create: install, stdin: JSON.stringify({ files: studioFleetFiles({ maxRunning: args.maxRunning }) }) },
      { ...child, dependsOn: [args.masterReady] },
    );

    for (const s of args.studios) {
      const p = s.project;
      const release = RELEASES[p.release];
      if (release === undefined) throw new pulumi.ResourceError(`project ${p.name}: unknown release ${p.release}`, this);
      const ports = studioPorts(p.slot);
      const dir = studioDir(p.name);
      const compose = renderMasterStudioCompose(masterStudioCompose({ project: p.name, release, ports, gateway: `${p.worker.address}:${p.ports.gateway}` }));
      this.keep(renderPlain(`master/studio/${p.name}/compose.yaml`, compose));
      const env = this.keep(
        renderWithSecrets(`master/studio/${p.name}/.env`, s.secrets, (secrets) =>
          renderEnvFile(masterStudioEnv({ tenantName: p.tenant.name, project: p.name, apiUrl: s.apiUrl, secrets })),
        ),
      );
      // The .env alone is secret; the compose file and the waker's files show in a preview as they change.
      const secrets = new command.remote.Command(
        `${name}-${p.name}-secrets`,
        { connection, create: install, stdin: pulumi.secret(env.apply((e) => JSON.stringify({ files: { [`${dir}/.env`]: { content: e, mode: "0600" } } }))) },
        { ...child, dependsOn: [tools] },
      );
      const files = JSON.stringify({
        files: { [`${dir}/compose.yaml`]: { content: compose, mode: "0644" }, ...studioWakerFiles({ project: p.name, ports, idleMinutes: args.idleMinutes }) },
        enable: [studioSocketUnit(p.name)],
      });
      const studio = new command.remote.Command(
        `${name}-${p.name}`,
        { connection, create: install, delete: renderScript("master/studio-remove.sh", { PROJECT: p.name }), stdin: files },
        { ...child, dependsOn: [secrets] },
      );
      // An awake Studio picks up new settings now; the digest reveals nothing of the secrets.
      new command.remote.Command(
        `${name}-${p.name}-refresh`,
        { connection, create: renderScript("master/studio-refresh.sh", { PROJECT: p.name, LISTEN: `127.0.0.1:${ports.listen}` }), triggers: [publicDigest(env.apply((e) => `${files}\0${e}`))] },
        { ...child, dependsOn: [studio] },
      );
      this.installed.push(studio);
    }

    this.registerOutputs({ studios: args.studios.map((s) => s.project.name) });
  }
}
