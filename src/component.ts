import * as pulumi from "@pulumi/pulumi";
import type { Artifact, Rendered } from "./render/artifact";

/**
 * What every supafleet component shares: its rendered files, so the offline
 * plan can write them to out/<env>/ without knowing each component.
 */
export abstract class FleetComponent extends pulumi.ComponentResource {
  readonly artifacts: Artifact[] = [];

  protected constructor(type: `supafleet:index:${string}`, name: string, opts?: pulumi.ComponentResourceOptions) {
    super(type, name, {}, opts);
  }

  /** Records the redacted copy for the render and returns the real content. */
  protected keep(r: Rendered): pulumi.Output<string> {
    this.artifacts.push(r.artifact);
    return r.value;
  }
}
