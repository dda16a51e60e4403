/**
 * The program's layers, lowest first. A module may import from its own layer
 * and the layers below it, never from one above; and no two modules may import
 * each other, directly or round a longer circle. docs/architecture.md shows
 * the same table; tests/architecture/layers.test.ts holds the code to it.
 */
export const LAYERS: readonly { readonly name: string; readonly paths: readonly string[]; readonly what: string }[] = [
  { name: "model", paths: ["src/model/"], what: "facts: names, addresses, ports, sizes, server types, Supabase releases" },
  { name: "config", paths: ["src/config/"], what: "the stack file's schema and validation, pure" },
  {
    name: "domain",
    paths: ["src/render/", "src/supabase/", "src/studio/", "src/rls/", "src/backup/", "src/monitoring/", "src/automation/", "src/probe/", "src/storage/", "src/functions/", "src/console/"],
    what: "pure renderers of what servers receive (boot data, Compose, SQL, scripts' settings, monitors, workflows, buckets, functions) and the probe's checks",
  },
  { name: "plan", paths: ["src/plan/"], what: "planFleet: every decision about an environment, as data" },
  { name: "resources", paths: ["src/resources/"], what: "Pulumi building blocks the components share" },
  { name: "components", paths: ["components/"], what: "one ComponentResource per file" },
  { name: "build", paths: ["src/build/"], what: "builders that create components from the plan, and the stack outputs" },
  { name: "entry", paths: ["src/main.ts", "src/index.ts", "src/stack/"], what: "reads the stack's config and secrets, plans, builds" },
  { name: "tools", paths: ["src/offline/", "src/e2e/"], what: "the offline plan and the e2e stack, which run the program" },
];
