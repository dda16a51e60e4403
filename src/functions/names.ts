import { resolve } from "node:path";

/**
 * The rules a project's functions folder keeps, shared by the config checks and the deploy.
 * Each function is a subfolder whose name the router (templates/supabase/functions/main) routes.
 */

/** The directory holding Pulumi.yaml: stack-file folders are relative to it, and may not leave it. */
export const PROGRAM_ROOT = resolve(__dirname, "..", "..");

/** The router's own name: upstream's edge runtime starts it as the main service. */
export const ROUTER = "main";

/** A name the router routes (it refuses others with 400); the same pattern is in main/route.ts. */
export const FUNCTION_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/**
 * A folder's subfolders that are shared code, not functions (the Supabase CLI's `_shared`
 * convention): deployed beside the functions, never routed.
 */
export const isShared = (name: string): boolean => name.startsWith("_");

/** Left out of the deploy: `.env` files, `.DS_Store`, editor folders. */
export const isHidden = (name: string): boolean => name.startsWith(".");

/**
 * The entry files edge-runtime looks for in a function's folder, in its order
 * (supabase/edge-runtime, crates/base/src/deno_runtime.rs, POTENTIAL_EXTS).
 */
export const ENTRY_FILES = ["index.ts", "index.tsx", "index.js", "index.mjs", "index.jsx"] as const;

/** A file or folder name the deploy takes: no spaces, quotes or control characters reach the worker's shell. */
export const FILE_NAME = /^[A-Za-z0-9_@+-][A-Za-z0-9._@+-]*$/;

/**
 * The most a project's functions may weigh. The files travel in the deploy command's stdin,
 * which Pulumi keeps in its state and shows in a preview's diff; dependencies are fetched by
 * the runtime (npm:, jsr:), so a folder of sources stays far below this.
 */
export const MAX_BYTES = 2 * 1024 * 1024;

/** The router's per-function JWT choices, written by the deploy beside the router. */
export const VERIFY_JWT_MANIFEST = `${ROUTER}/verify-jwt.json`;
