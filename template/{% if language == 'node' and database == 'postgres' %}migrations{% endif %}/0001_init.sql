-- Migrations run in lexical order (0001_, 0002_, ...), each once, inside a
-- transaction; `node dist/migrate.js` records them in schema_migrations.
-- Never edit a migration that has run anywhere: add a new file instead, and
-- keep each change compatible with the previous release (rollbacks run old
-- code against the new schema).

-- A first table to replace with the service's own schema.
CREATE TABLE IF NOT EXISTS app_settings (
    key text PRIMARY KEY,
    value text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
