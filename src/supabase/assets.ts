/** The files a project's database reads at init and for archiving, from templates/supabase; project-assets.sh writes them. */
export const PROJECT_ASSETS = ["db/roles.sql", "db/jwt.sql", "db/realtime.sql", "db/wal-archive.sh"] as const;
