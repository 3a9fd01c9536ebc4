"""JSON log lines on stdout for the app, its server and gunicorn.

This module must not import prometheus_client: gunicorn.conf.py imports it in the
master before it sets up prometheus-client's multiprocess directory.
"""

from __future__ import annotations

import json
import logging
import logging.config
import sys
import threading
import time
from typing import Any

# The level names of LOG_LEVEL, as written to the logs, and their logging levels.
LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}
_LEVEL_NAMES = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warn",
    logging.ERROR: "error",
    logging.CRITICAL: "fatal",
}
# Extra fields a log call attaches: logger.info("msg", extra={FIELDS: {...}}).
FIELDS = "fields"

request_log = logging.getLogger("app.request")
_write_lock = threading.Lock()


def _timestamp(seconds: float) -> str:
    """ISO 8601 UTC time with milliseconds, e.g. 2025-01-31T12:00:00.123Z."""
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{whole}.{int(seconds % 1 * 1000):03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, msg, the record's fields, and err for an exception.

    err holds the exception's type, message and traceback, so an unhandled error
    in a view (logged by the server or framework with its exc_info) is one line
    that says what went wrong and where.
    """

    def format(self, record: logging.LogRecord) -> str:
        """Render record as a JSON line."""
        entry: dict[str, Any] = {
            "time": _timestamp(record.created),
            "level": _LEVEL_NAMES.get(record.levelno, record.levelname.lower()),
            "msg": record.getMessage(),
        }
        fields = getattr(record, FIELDS, None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.name != request_log.name:
            entry["logger"] = record.name
        if record.exc_info and record.exc_info[0] is not None:
            # The shape of pino's err serializer (the Node services' logger).
            entry["err"] = {
                "type": record.exc_info[0].__name__,
                "message": str(record.exc_info[1]),
                "stack": self.formatException(record.exc_info),
            }
        return json.dumps(entry, default=str)


def logging_config(level: str) -> dict[str, Any]:
    """A logging.config dict sending every log line as JSON to stdout (gunicorn uses it too)."""
    threshold = LEVELS[level]
    quiet: dict[str, Any] = {"level": logging.CRITICAL, "handlers": [], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": sys.stdout},
        },
        "root": {"level": threshold, "handlers": ["stdout"]},
        "loggers": {
            # Servers' own handlers would print plain text: send their lines to the root.
            "gunicorn.error": {"level": threshold, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": threshold, "handlers": [], "propagate": True},
            "uvicorn": {"level": threshold, "handlers": [], "propagate": True},
            # The app writes one line per request itself; access logs would repeat it.
            "gunicorn.access": quiet,
            "uvicorn.access": quiet,
            "django.server": quiet,
            # Django's own console handler (DEBUG only) would print plain text.
            "django": {"level": threshold, "handlers": [], "propagate": True},
            # 4xx warnings would repeat the request line; 5xx errors keep their traceback.
            "django.request": {"level": logging.ERROR, "handlers": [], "propagate": True},
            "werkzeug": quiet,
        },
    }


def configure_logging(level: str) -> None:
    """Send this process's logs to stdout as JSON lines at level (a LOG_LEVEL value)."""
    logging.config.dictConfig(logging_config(level))


def log_request(method: str, route: str, status: int, duration_ms: float) -> None:
    """Write the one log line of an answered request (info; error for a 5xx).

    The line goes straight to stdout, in the format of JsonFormatter, when the
    "app.request" logger is enabled for its level: it is written for every
    request, so it skips the logging machinery, which would cost several times more.
    """
    error = status >= 500  # noqa: PLR2004 (server errors)
    if not request_log.isEnabledFor(logging.ERROR if error else logging.INFO):
        return
    line = json.dumps(
        {
            "time": _timestamp(time.time()),
            "level": "error" if error else "info",
            "msg": "request",
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": duration_ms,
        }
    )
    with _write_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
