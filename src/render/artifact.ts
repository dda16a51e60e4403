import * as pulumi from "@pulumi/pulumi";

/**
 * A file a server receives, as the offline render shows it: every secret is
 * replaced by a marker before the text is even built, so the render cannot
 * leak what it never saw.
 */
export interface Artifact {
  /** Path under out/<env>/, e.g. `nodes/master/cloud-init.yaml`. */
  readonly path: string;
  readonly content: pulumi.Output<string>;
}

export interface Rendered {
  /** The real content, marked secret when any secret went into it. */
  readonly value: pulumi.Output<string>;
  readonly artifact: Artifact;
}

export function redactionMarker(name: string): string {
  return `<redacted:${name}>`;
}

/**
 * Renders a file twice from one function: once with the real secrets (for
 * the server) and once with markers (for the render).
 */
export function renderWithSecrets<K extends string>(
  path: string,
  secrets: Readonly<Record<K, pulumi.Input<string>>>,
  render: (s: Readonly<Record<K, string>>) => pulumi.Input<string>,
): Rendered {
  const names = Object.keys(secrets) as K[];
  const markers = Object.fromEntries(names.map((k) => [k, redactionMarker(k)])) as Record<K, string>;
  const value = pulumi
    .all(names.map((k) => pulumi.output(secrets[k])))
    .apply((vals) => pulumi.output(render(Object.fromEntries(names.map((k, i) => [k, vals[i]])) as Record<K, string>)));
  return {
    value: names.length > 0 ? pulumi.secret(value) : value,
    artifact: { path, content: pulumi.output(render(markers)) },
  };
}

export function renderPlain(path: string, content: pulumi.Input<string>): Rendered {
  const value = pulumi.output(content);
  return { value, artifact: { path, content: value } };
}
