-- First migration: app.migrate applies the files of this folder in name order,
-- each once and in its own transaction. Add 0002_<what>.sql next; never edit a
-- file that has been applied anywhere. Keep each change backward compatible with
-- the version still running (expand first, contract in a later release).
CREATE TABLE IF NOT EXISTS service_info (
    key        text PRIMARY KEY,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
