// npm run bench:backup [-- --megabytes 1024]
//
// On a real PostgreSQL 15 holding about 1 GB of data, side by side in one run:
// - a full supafleet backup (backup.sh: globals, the database with its recorded
//   figures and completion mark, retention) against `pg_dump -Fc` to a local
//   file, what an operator would compare with, as a ratio;
// - the size a second, unchanged backup adds to the restic repository, against
//   a second `pg_dump -Fc` file (which is the whole size again);
// - a restore (restore.sh: roles, one transaction, figures verified) against
//   `pg_restore` of the -Fc file into an empty database, as a ratio.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { renderBackupEnv } from "../../src/backup/settings";
import { TestPostgres } from "../../tests/helpers/postgres";

const { values } = parseArgs({ options: { megabytes: { type: "string", default: "1024" } } });
const MB = Number(values.megabytes);
const ROOT = join(__dirname, "..", "..");
const work = mkdtempSync(join(tmpdir(), "supafleet-bench-backup-"));
const repo = join(work, "repo");
const pg = new TestPostgres();

const du = (dir: string): number => Number(execFileSync("du", ["-sb", dir], { encoding: "utf8" }).split("\t")[0]);
const seconds = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e9;

function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  return seconds(start);
}

async function main(): Promise<void> {
  await pg.start();
  try {
    pg.psql("create role supabase_admin login superuser password 'admin-pw'; create database projectdb;");
    const rows = Math.round((MB * 1024 * 1024) / 1100);
    const load = process.hrtime.bigint();
    // Rows of about 1 KB of hex digests: noise that compresses about as badly as real data, so neither side is flattered.
    pg.psql(
      `create table public.events (id bigint primary key, tenant_id int not null, kind text not null, payload text not null, created_at timestamptz not null);
       insert into public.events select g, g % 1000, (array['login','ticket','patch','alert'])[1 + g % 4],
         (select string_agg(md5(g::text || '/' || i), '') from generate_series(1, 30) i), now() - make_interval(secs => g)
       from generate_series(1, ${rows}) g;
       create index on public.events (tenant_id, created_at);
       analyze;`,
      "projectdb",
    );
    const client = await pg.client();
    const size = Number((await client.query("select pg_database_size('projectdb') as s")).rows[0].s);
    await client.end();
    console.error(`loaded ${rows} rows in ${seconds(load).toFixed(0)} s`);

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: `${join(ROOT, "tests/integration/fakes")}:${process.env.PATH}`,
      ...pg.conn("supabase_admin", "admin-pw").env,
      FAKE_DOCKER_LOG: join(work, "docker.log"),
      FAKE_DOCKER_STATE: work,
      SUPAFLEET_LOCK_DIR: work,
      RESTIC_PASSWORD: "bench",
      RESTIC_CACHE_DIR: join(work, "cache"),
      TZ: "UTC",
    };
    execFileSync("restic", ["-r", repo, "init", "-q"], { env });
    const config = join(work, "ops.env");
    writeFileSync(config, renderBackupEnv({ name: "ops", repository: repo, resticPassword: "bench", dbContainer: "ops-db", paths: [], retention: { daily: 7, weekly: 4, monthly: 6 } }) + "DB_NAME='projectdb'\n");

    const dumpFile = join(work, "custom.dump");
    const plain = timed("pg_dump", ["-U", "supabase_admin", "-d", "projectdb", "-Fc", "-f", dumpFile], env);
    const dumpSize = statSync(dumpFile).size;
    execFileSync("createdb", ["-U", "supabase_admin", "pgrestored"], { env });
    const pgRestore = timed("pg_restore", ["-U", "supabase_admin", "-d", "pgrestored", dumpFile], env);
    rmSync(dumpFile);
    const backup = (): number => timed("bash", [join(ROOT, "templates/worker/backup.sh"), config, "run"], env);
    const first = backup();
    const afterFirst = du(repo);
    const second = backup();
    const added = du(repo) - afterFirst;
    const restore = timed("bash", [join(ROOT, "templates/worker/restore.sh"), config, "--target", "restored"], env);

    const mib = (b: number): string => (b / 1024 / 1024).toFixed(1);
    console.log(`Backup benchmark: a ${mib(size)} MiB database (${mib(dumpSize)} MiB as pg_dump -Fc), PostgreSQL 15, restic ${execFileSync("restic", ["version"], { encoding: "utf8" }).split(" ")[1]}, ${cpus().length} cores\n`);
    console.log("| measure | value |");
    console.log("|---|---:|");
    console.log(`| \`pg_dump -Fc\` to a local file | ${plain.toFixed(1)} s |`);
    console.log(`| supafleet backup, first (globals, database and figures, retention) | ${first.toFixed(1)} s |`);
    console.log(`| **backup / pg_dump -Fc** | **${(first / plain).toFixed(2)}×** |`);
    console.log(`| repository after the first backup | ${mib(afterFirst)} MiB (${((afterFirst / dumpSize) * 100).toFixed(0)}% of the -Fc file) |`);
    console.log(`| second backup, nothing changed | ${second.toFixed(1)} s |`);
    console.log(`| **size the second backup adds** | **${mib(added)} MiB** (a second -Fc file: ${mib(dumpSize)} MiB) |`);
    console.log(`| \`pg_restore\` of the -Fc file into an empty database | ${pgRestore.toFixed(1)} s |`);
    console.log(`| restore into a new database (restore.sh: roles, one transaction, figures verified) | ${restore.toFixed(1)} s |`);
    console.log(`| **restore / pg_restore** | **${(restore / pgRestore).toFixed(2)}×** |`);
  } finally {
    pg.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
