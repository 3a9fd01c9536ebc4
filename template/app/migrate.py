"""Apply the SQL migrations in migrations/: `python -m app.migrate`.

Files named NNNN_description.sql run in lexical order, each once, each in its
own transaction, recorded in schema_migrations. A Postgres advisory lock makes
concurrent runners (two deploys, several replicas) wait for each other instead
of racing. Run it before the new version takes traffic (the deploy pipeline
does); the app itself never migrates on startup.
"""

from __future__ import annotations

import logging
import sys
import zlib
from pathlib import Path

import psycopg

from app.config import migration_settings_or_exit
from app.logs import configure_logging

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# The advisory lock's key: a fixed number derived from the table's name.
LOCK_KEY = zlib.crc32(b"schema_migrations")

_log = logging.getLogger("app.migrate")


class MigrationFailed(Exception):  # noqa: N818 (an outcome the command reports)
    """A migration file failed; nothing of it was applied (its transaction rolled back)."""

    def __init__(self, path: Path, error: psycopg.Error) -> None:
        super().__init__(f"{path.name}: {error}")
        self.path = path
        self.error = error


def pending(applied: set[str]) -> list[Path]:
    """The migration files not yet applied, in the order they must run."""
    return [path for path in sorted(MIGRATIONS_DIR.glob("*.sql")) if path.stem not in applied]


def migrate(url: str) -> list[str]:
    """Apply every pending migration to the database at url; return the versions applied."""
    done: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            rows = conn.execute("SELECT version FROM schema_migrations").fetchall()
            for path in pending({row[0] for row in rows}):
                try:
                    with conn.transaction():
                        conn.execute(path.read_text(encoding="utf-8").encode())
                        conn.execute(
                            "INSERT INTO schema_migrations (version) VALUES (%s)", (path.stem,)
                        )
                except psycopg.Error as exc:
                    raise MigrationFailed(path, exc) from exc
                _log.info("migration applied", extra={"fields": {"version": path.stem}})
                done.append(path.stem)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    return done


def main() -> int:
    """Migrate the database named by DATABASE_URL (the only variable it needs); 0 on success."""
    settings = migration_settings_or_exit()
    configure_logging(settings.log_level)
    try:
        applied = migrate(settings.database_url.get_secret_value())
    except MigrationFailed as exc:
        _log.error("migration failed", extra={"fields": _failure(exc.error, exc.path)})
        return 1
    except psycopg.Error as exc:
        _log.error("migration failed", extra={"fields": _failure(exc, None)})
        return 1
    _log.info("database is up to date", extra={"fields": {"applied": len(applied)}})
    return 0


def _failure(error: psycopg.Error, path: Path | None) -> dict[str, object]:
    """The log fields of a failure: the file, and the server's error (libpq's text)."""
    # libpq's text names the server's address and user, never the password.
    fields: dict[str, object] = {"error": type(error).__name__, "message": str(error).strip()}
    if path is not None:
        fields["file"] = path.relative_to(MIGRATIONS_DIR.parent).as_posix()
    if error.sqlstate:
        fields["sqlstate"] = error.sqlstate
    return fields


if __name__ == "__main__":
    sys.exit(main())
