"""The process's PostgreSQL connection pool (psycopg_pool), for readiness and the app's own queries.

    from app.db import get_pool

    with get_pool().connection() as conn:  # commits on success, rolls back on error
        conn.execute("INSERT INTO ...", (...,))

One pool per process, opened on first use: gunicorn imports the app in each
worker after forking, so no connection is ever shared across processes. The URL's
parameters (sslmode, ...) mean what they mean to libpq, which psycopg runs.
"""

from __future__ import annotations

import atexit
import threading

from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

from app.config import get_settings

__all__ = ["POOL_MAX_SIZE", "get_pool", "open_pool"]

# Per worker process: WEB_CONCURRENCY x POOL_MAX_SIZE must stay below the server's
# max_connections (100 by default) with room for other clients.
POOL_MAX_SIZE = 10
# Seconds to establish a new connection, unless the URL sets connect_timeout itself.
CONNECT_TIMEOUT_SECONDS = 5

_pool: ConnectionPool | None = None
_lock = threading.Lock()


def open_pool(url: str) -> ConnectionPool:
    """A new pool for url, opening its first connection in the background."""
    kwargs: dict[str, object] = {}
    if "connect_timeout" not in conninfo_to_dict(url):
        kwargs["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    pool = ConnectionPool(
        url,
        kwargs=kwargs,
        min_size=1,
        max_size=POOL_MAX_SIZE,
        # Waiting for a free connection longer than this fails the query (PoolTimeout).
        timeout=10,
        name="app",
        open=False,
    )
    pool.open(wait=False)
    return pool


def get_pool() -> ConnectionPool:
    """This process's pool for DATABASE_URL, opened on the first call."""
    global _pool  # noqa: PLW0603 (one per process, opened lazily after the fork)
    if _pool is None:
        with _lock:
            if _pool is None:
                _pool = open_pool(get_settings().database_url.get_secret_value())
                atexit.register(_pool.close)
    return _pool
