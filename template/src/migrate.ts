// Applies migrations/*.sql in lexical order, each once and in its own
// transaction, recorded in schema_migrations. A Postgres advisory lock makes
// concurrent runners (two deploys, several replicas) wait for each other.
// Run it with `node dist/migrate.js` (the image's migrate command).
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ConfigError, exitWithConfigError, loadConfig, schema } from './config.js';
import { createLogger } from './logger.js';
import { PostgresUrlError, connectClient, postgresTarget } from './postgres.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));
// Any constant works; every runner of this service must use the same one.
const LOCK_SQL = "SELECT pg_advisory_lock(hashtext('schema_migrations'))";
const UNLOCK_SQL = "SELECT pg_advisory_unlock(hashtext('schema_migrations'))";

const config = loadConfig(schema.pick({ DATABASE_URL: true, LOG_LEVEL: true }));
const logger = createLogger(config.LOG_LEVEL, { secrets: urlSecrets(config.DATABASE_URL) });
const target = databaseTarget(config.DATABASE_URL);

async function migrate(): Promise<void> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((name) => name.endsWith('.sql')).sort();
  const client = await connectClient(target, { connectionTimeoutMillis: 10_000 });
  try {
    await client.query(LOCK_SQL);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const { rows } = await client.query<{ version: string }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((row) => row.version));
    let count = 0;
    for (const file of files) {
      const version = file.slice(0, -'.sql'.length);
      if (applied.has(version)) continue;
      const sql = await readFile(join(MIGRATIONS_DIR, file), 'utf8');
      const started = performance.now();
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [version]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`migration ${file} failed: ${reason}`, { cause: error });
      }
      count += 1;
      logger.info({ version, duration_ms: Math.round(performance.now() - started) }, 'migration applied');
    }
    logger.info({ applied: count, total: files.length }, 'migrations up to date');
  } finally {
    await client.query(UNLOCK_SQL).catch(() => undefined);
    await client.end();
  }
}

try {
  await migrate();
} catch (error) {
  // The logger's err serializer keeps type, message and stack, secrets removed.
  logger.error({ err: error }, 'migrate failed');
  process.exitCode = 1;
}

function databaseTarget(url: string) {
  try {
    return postgresTarget(url);
  } catch (error) {
    if (error instanceof PostgresUrlError) exitWithConfigError(new ConfigError({ DATABASE_URL: error.message }));
    throw error;
  }
}

/** The URL and its password, which no log line may show. */
function urlSecrets(url: string): string[] {
  const { password } = new URL(url);
  return password ? [url, password, decodeURIComponent(password)] : [url];
}
