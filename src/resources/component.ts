import * as pulumi from "@pulumi/pulumi";
import type { Artifact, Rendered } from "../render/artifact";

/**
 * What every supafleet component shares: its rendered files, so the offline
 * plan can write them to out/<env>/ without knowing each component.
 */
export abstract class FleetComponent extends pulumi.ComponentResource {
  readonly artifacts: Artifact[] = [];
  private readonly childPrefix: string;

  /**
   * The tree is settled before the first real `pulumi up`; from then on, a
   * rename or a move needs `aliases` in `opts`, which children inherit.
   */
  protected constructor(type: `supafleet:index:${string}`, name: string, opts?: pulumi.ComponentResourceOptions) {
    super(type, name, {}, opts);
    this.childPrefix = name;
  }

  /** A child's name, `<component>-<suffix>`, and its options: parented here. */
  protected child(suffix: string): { name: string; opts: pulumi.CustomResourceOptions } {
    return { name: `${this.childPrefix}-${suffix}`, opts: { parent: this } };
  }

  /** Records the redacted copy for the render and returns the real content. */
  protected keep(r: Rendered): pulumi.Output<string> {
    this.artifacts.push(r.artifact);
    return r.value;
  }
}
