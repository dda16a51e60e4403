import { z } from "zod";

/**
 * A project's edge functions: a folder of this repository with one subfolder per function.
 * Written as the folder alone, or with each function's JWT check (on unless set false).
 * What is in the folder is checked on disk before anything deploys (src/functions/check.ts).
 */
const folder = z
  .string()
  .regex(/^(?!\/)(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9._/-]+$/, "must be a folder of this repository, relative to Pulumi.yaml, such as functions/smarteros");

/** The names the router routes: the same pattern as templates/supabase/functions/main/route.ts. */
const FUNCTION_NAME = /^[a-z0-9][a-z0-9_-]*$/;

// The short form is the folder alone; read as { path } so that each problem names its own key.
export const FunctionsSchema = z.preprocess(
  (v) => (typeof v === "string" ? { path: v } : v),
  z.strictObject(
    {
      path: folder,
      verifyJwt: z
        .record(z.string(), z.boolean())
        .superRefine((v, ctx) => {
          for (const name of Object.keys(v).filter((k) => !FUNCTION_NAME.test(k))) {
            ctx.addIssue({ code: "custom", path: [name], message: "must name a function folder: lowercase letters, digits, _ and -" });
          }
        })
        .default({}),
    },
    { error: () => "must be a folder such as functions/smarteros, or { path, verifyJwt: { <function>: false } }" },
  ),
);

export type FunctionsConfig = z.infer<typeof FunctionsSchema>;
