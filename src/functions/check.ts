import type { FleetConfig } from "../config/schema";
import type { ConfigIssue } from "../config/issues";
import { readFunctionsFolder } from "./read";

/**
 * The stack file's functions folders, checked on disk: each project's folder exists in this
 * repository, holds functions the router can run within the size limit, and its verifyJwt
 * names only functions it holds. Runs on whatever tenants parsed, like validateFleet.
 */
export function checkFunctionFolders(root: string): (cfg: Partial<FleetConfig>) => ConfigIssue[] {
  return (cfg) =>
    (cfg.tenants ?? []).flatMap((tenant, t) =>
      tenant.projects.flatMap((project, p): ConfigIssue[] => {
        const fns = project.functions;
        if (fns === undefined) return [];
        const at = `tenants[${t}].projects[${p}].functions`;
        if (!project.services.functions) return [{ path: at, message: "the project does not run the functions service (services.functions is false); drop one or the other" }];
        const read = readFunctionsFolder(root, fns.path);
        if (read.folder === undefined) return read.problems.map((message) => ({ path: at, message }));
        const names = new Set(read.folder.functions);
        return Object.keys(fns.verifyJwt)
          .filter((name) => !names.has(name))
          .map((name) => ({ path: `${at}.verifyJwt.${name}`, message: `names no function in ${fns.path} (it holds ${read.folder.functions.join(", ")})` }));
      }),
    );
}
