import * as pulumi from "@pulumi/pulumi";
import type { Artifact, Rendered } from "./render/artifact";

/**
 * What every supafleet component shares: its rendered files, so the offline
 * plan can write them to out/<env>/ without knowing each component.
 */
export abstract class FleetComponent extends pulumi.ComponentResource {
  readonly artifacts: Artifact[] = [];
  private readonly childPrefix: string;
  private readonly renamedFrom: string | undefined;

  /**
   * `renamedFrom` is the name this component had before, when its children
   * were named `<renamedFrom>-<suffix>`: aliases keep the component and every
   * child made with `child()` the same resources in existing stacks.
   */
  protected constructor(type: `supafleet:index:${string}`, name: string, opts?: pulumi.ComponentResourceOptions, renamedFrom?: string) {
    super(type, name, {}, renamedFrom === undefined ? opts : { ...opts, aliases: [...(opts?.aliases ?? []), { name: renamedFrom }] });
    this.childPrefix = name;
    this.renamedFrom = renamedFrom;
  }

  /** A child's name, `<component>-<suffix>`, and its options: parented here, and aliased across a rename. */
  protected child(suffix: string, formerSuffix = suffix): { name: string; opts: pulumi.CustomResourceOptions } {
    const name = `${this.childPrefix}-${suffix}`;
    const former = this.renamedFrom === undefined ? undefined : `${this.renamedFrom}-${formerSuffix}`;
    return { name, opts: { parent: this, ...(former !== undefined && former !== name ? { aliases: [{ name: former }] } : {}) } };
  }

  /** Records the redacted copy for the render and returns the real content. */
  protected keep(r: Rendered): pulumi.Output<string> {
    this.artifacts.push(r.artifact);
    return r.value;
  }
}
