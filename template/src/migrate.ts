// Applies migrations/*.sql in lexical order, each once and in its own
// transaction, recorded in schema_migrations. A Postgres advisory lock makes
// concurrent runners (two deploys, several replicas) wait for each other.
// Run it with `node dist/migrate.js` (the image's migrate command).
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import pg from 'pg';

import { loadConfig, schema } from './config.js';
import { describeError } from './health.js';
import { createLogger } from './logger.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));
// Any constant works; every runner of this service must use the same one.
const LOCK_SQL = "SELECT pg_advisory_lock(hashtext('schema_migrations'))";
const UNLOCK_SQL = "SELECT pg_advisory_unlock(hashtext('schema_migrations'))";

const config = loadConfig(schema.pick({ DATABASE_URL: true, LOG_LEVEL: true }));
const logger = createLogger(config.LOG_LEVEL);
const secrets = [config.DATABASE_URL];

async function migrate(): Promise<void> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((name) => name.endsWith('.sql')).sort();
  const client = new pg.Client({ connectionString: config.DATABASE_URL, connectionTimeoutMillis: 10_000 });
  await client.connect();
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
        throw new Error(`migration ${version} failed: ${describeError(error, secrets)}`, { cause: error });
      }
      count += 1;
      logger.info('migration applied', { version, duration_ms: Math.round(performance.now() - started) });
    }
    logger.info('migrations up to date', { applied: count, total: files.length });
  } finally {
    await client.query(UNLOCK_SQL).catch(() => undefined);
    await client.end();
  }
}

try {
  await migrate();
} catch (error) {
  logger.error('migrate failed', { error: describeError(error, secrets) });
  process.exitCode = 1;
}
