import * as pulumi from "@pulumi/pulumi";
import type { CustomHostnameValidation } from "../../components/CustomDomains";
import type { Fleet } from "./fleet";

/**
 * The stack output `customDomains`, by project and hostname: a domain in the fleet's zone needs
 * nothing from the client; one in the client's zone needs their CNAME, and lists the validation
 * records Cloudflare reports for it (read again on every `pulumi up`).
 */
export function customDomainOutputs(fleet: Fleet): pulumi.Output<Record<string, Record<string, unknown>>> {
  const validation = fleet.customDomains?.validation ?? pulumi.output<Record<string, CustomHostnameValidation>>({});
  return validation.apply((saas) =>
    Object.fromEntries(
      fleet.plan.projects
        .filter((p) => p.customDomains.length > 0)
        .map((p) => [
          p.name,
          Object.fromEntries(
            p.customDomains.map((d) => {
              if (d.kind === "zone") return [d.hostname, { kind: "zone", record: "a proxied CNAME to the tunnel in the fleet's zone; nothing for the client to add" }];
              const { project: _project, ...v } = saas[d.hostname]!;
              return [d.hostname, { kind: "saas", ...v }];
            }),
          ),
        ]),
    ),
  );
}
