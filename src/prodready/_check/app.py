"""Application checks: what the service's own code does for operations.

A static look at the source (see `_source`): each check names the patterns it
accepts, so a team using another library can see why it was not recognised and
record an exception.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ._context import Context
from ._model import Hit, Severity
from ._registry import check

__all__: list[str] = []

_CODE = "prodready renders it in the service's language (answers `language`, `framework`)"
_HEALTH = re.compile(r"^(?:.*/)?(?:_?health(?:z|check)?|livez?|livenessz?|ping|status)(?:/.*)?$")
_READY = re.compile(r"(?:^|/)(?:ready|readyz|readiness)$")
_ENV_READ = re.compile(
    r"process\.env|os\.environ|os\.getenv|os\.Getenv|os\.LookupEnv|BaseSettings|environ\.Env"
    r"|cleanEnv|envconfig\.Process|env\.Parse"
)
_ENV_FAIL = re.compile(
    r"\bthrow\b|\braise\b|os\.Exit|log\.Fatal|process\.exit|errors\.New|fmt\.Errorf|sys\.exit"
    r"|\.(?:safe)?[pP]arse\(|BaseSettings|envconfig\.Process|env\.Parse|cleanEnv|os\.environ\["
)
_SIGTERM = re.compile(r"SIGTERM")
_PY_SERVERS = re.compile(r"\b(gunicorn|uvicorn|hypercorn|daphne)\b")
_METRICS_LIBS = re.compile(
    r"prom-client|prometheus[_-]client|prometheus/client_golang|django-prometheus"
    r"|prometheus-fastapi-instrumentator|@opentelemetry/exporter-prometheus"
)
_JSON_LOGS = re.compile(
    r"\bpino\b|\bwinston\b|\bbunyan\b|structlog|python-json-logger|pythonjsonlogger"
    r"|json_log_formatter|slog\.NewJSONHandler|go\.uber\.org/zap|zerolog|JSONFormatter"
    r"|json\.dumps\([^)]*\)|JSON\.stringify\("
)
_LOGGING = re.compile(r"logging\.Formatter|logger|log\.|Logger", re.IGNORECASE)


def _has_code(ctx: Context) -> bool:
    return bool(ctx.source.files)


@check(
    "PR-APP-001",
    "app",
    Severity.ERROR,
    title="The service serves a health route",
    why="Load balancers, orchestrators and uptime checks need a cheap route that says the "
    "process is alive; without one they probe a business route or nothing.",
    fix=f"Serve GET /health (liveness, no dependency checks); {_CODE}.",
)
def health_route(ctx: Context) -> Iterator[Hit]:
    """Check that a health-like route (/health, /healthz, /livez, /ping, /status) is in the code."""
    if _has_code(ctx) and not any(_HEALTH.match(p) for p in ctx.source.served_paths()):
        yield Hit("no health route (/health, /healthz, /livez, /ping) in the service's code")


@check(
    "PR-APP-002",
    "app",
    Severity.WARNING,
    title="The service serves a readiness route",
    why="Liveness and readiness answer different questions: a pod whose database is down "
    "should leave the load balancer, not be restarted.",
    fix=f"Serve GET /health/ready that checks the service's dependencies; {_CODE}.",
)
def readiness_route(ctx: Context) -> Iterator[Hit]:
    """Check that a readiness route (/ready, /readyz, /health/ready) is in the code."""
    if _has_code(ctx) and not any(_READY.search(p) for p in ctx.source.served_paths()):
        yield Hit("no readiness route (/health/ready, /readyz) in the service's code")


@check(
    "PR-APP-003",
    "app",
    Severity.WARNING,
    title="Configuration is validated at startup",
    why="A missing or malformed variable should stop the process before it listens, not "
    "surface as a 500 on the first request that needs it.",
    fix="Parse the environment once at startup with a schema (zod, pydantic-settings, a "
    f"Load() returning an error) and exit on failure; {_CODE}.",
)
def env_validation(ctx: Context) -> Iterator[Hit]:
    """Check that a file reading the environment fails (throws, raises, exits) on bad values."""
    if not _has_code(ctx):
        return
    reads = [(rel, text) for rel, text in ctx.source.texts() if _ENV_READ.search(text)]
    if not any(_ENV_FAIL.search(text) for _, text in reads):
        file = reads[0][0] if reads else None
        yield Hit("the environment is read without validation that stops the process", file)


@check(
    "PR-APP-004",
    "app",
    Severity.WARNING,
    title="The service shuts down gracefully on SIGTERM",
    why="Every deploy, scale-in and node drain sends SIGTERM; a process that dies at once "
    "drops the requests it was serving.",
    fix=f"Handle SIGTERM: fail readiness, stop accepting, finish in-flight requests; {_CODE}.",
)
def graceful_shutdown(ctx: Context) -> Iterator[Hit]:
    """Check that the code handles SIGTERM, or a Python server that drains on SIGTERM runs it."""
    if not _has_code(ctx) or ctx.source.search(_SIGTERM):
        return
    if "python" in ctx.source.languages:
        start = " ".join(
            ins.value
            for dockerfile in ctx.dockerfiles
            for ins in dockerfile.instructions
            if ins.cmd in ("CMD", "ENTRYPOINT")
        )
        procfiles = " ".join(ctx.repo.text(rel) or "" for rel in ctx.repo.named("Procfile"))
        if _PY_SERVERS.search(start + " " + procfiles):
            return
    yield Hit("no SIGTERM handling in the service's code")


@check(
    "PR-APP-005",
    "app",
    Severity.WARNING,
    title="The service exposes metrics",
    why="Request rate, errors and latency are what alerts and canary analysis read; without "
    "them a bad release is found by users.",
    fix=f"Serve Prometheus metrics on /metrics; {_CODE}.",
)
def metrics(ctx: Context) -> Iterator[Hit]:
    """Check that a /metrics route or a Prometheus client library."""
    if not _has_code(ctx):
        return
    served = ctx.source.served_paths()
    if "metrics" not in served and not _METRICS_LIBS.search(ctx.source.dependency_text()):
        yield Hit("no /metrics route and no Prometheus client library")


@check(
    "PR-APP-006",
    "app",
    Severity.WARNING,
    title="Logs are structured",
    why="Plain-text logs cannot be filtered by request, status or release in a log store.",
    fix="Log one JSON object per line (pino, structlog or a JSON logging.Formatter, slog's "
    f"JSONHandler); {_CODE}.",
)
def structured_logs(ctx: Context) -> Iterator[Hit]:
    """Check that a JSON logging library, or a logger that writes JSON."""
    if not _has_code(ctx):
        return
    if _JSON_LOGS.search(ctx.source.dependency_text()):
        return
    for _rel, text in ctx.source.texts():
        if _JSON_LOGS.search(text) and _LOGGING.search(text):
            return
    yield Hit("no JSON logger (pino, winston, structlog, slog JSONHandler, zap, zerolog)")
