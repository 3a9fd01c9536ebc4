"""The health contract, independent of any web framework.

Liveness never looks at dependencies; readiness and the detailed report run
every registered check concurrently, each bounded by HEALTH_CHECK_TIMEOUT_MS, so
one hung dependency costs one timeout, not the sum. The framework adapters only
translate requests and Reply objects.

Register the app's own checks with `register_check(name, fn)`: fn takes no
arguments and returns (anything) when the dependency is fine, or raises when it
is not. It may be a plain or an async function. Raise CheckFailed("short text")
to choose the message shown in /health/detailed; any other exception shows only
its type name, since exception texts can quote connection strings.

/health/detailed shows each check's status to anyone; the details (latencies,
messages, version, uptime) only to a request with the HEALTH_TOKEN bearer token,
and to nobody when no token is set (the health contract, includes/health.yml).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hmac
import inspect
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = [
    "CheckFailed",
    "CheckFn",
    "CheckResult",
    "HealthService",
    "Reply",
    "begin_shutdown",
    "register_check",
    "registered_checks",
    "shutting_down",
    "unregister_check",
]

CheckFn = Callable[[], object] | Callable[[], Awaitable[object]]

# Set by gunicorn.conf.py: a file whose existence means the master got SIGTERM.
DRAIN_FILE_ENV = "APP_DRAIN_FILE"

_log = logging.getLogger("app.health")
_checks: dict[str, CheckFn] = {}
_shutdown = threading.Event()
# Checks run on their own threads so a slow one never blocks a request thread or
# the event loop; a check that ignores its timeout only ties up one of these.
_executor = concurrent.futures.ThreadPoolExecutor(max_workers=16, thread_name_prefix="health")
# The run of each check in flight and when it started: concurrent requests share
# it instead of starting their own, so a burst of probes costs one query per
# dependency, and a hung dependency ties up one thread per timeout, not one per request.
_inflight: dict[
    tuple[object, str, CheckFn], tuple[concurrent.futures.Future[CheckResult], float]
] = {}
_inflight_lock = threading.Lock()
_PROCESS_START = time.monotonic()


class CheckFailed(Exception):  # noqa: N818 (a result, not a programming error)
    """A dependency check failed; its text is safe to show in /health/detailed."""


def register_check(name: str, fn: CheckFn) -> None:
    """Make readiness depend on fn (replacing any check of the same name)."""
    _checks[name] = fn


def unregister_check(name: str) -> None:
    """Stop checking name (no error if it was not registered)."""
    _checks.pop(name, None)


def registered_checks() -> Mapping[str, CheckFn]:
    """The live registry: name -> check function."""
    return _checks


def begin_shutdown() -> None:
    """Turn readiness to 503 in this process from now on."""
    _shutdown.set()


def shutting_down() -> bool:
    """Whether this process, or the gunicorn master that runs it, is draining."""
    if _shutdown.is_set():
        return True
    drain_file = os.environ.get(DRAIN_FILE_ENV)
    return drain_file is not None and os.path.exists(drain_file)  # noqa: PTH110 (hot path)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check."""

    status: Literal["ok", "error"]
    latency_ms: float
    message: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The result as /health/detailed shows it."""
        entry: dict[str, Any] = {"status": self.status, "latency_ms": self.latency_ms}
        if self.message is not None:
            entry["message"] = self.message
        return entry


@dataclass(frozen=True)
class Reply:
    """A framework-neutral HTTP answer: status, JSON body, extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


_NO_STORE = {"Cache-Control": "no-store"}


class HealthService:
    """Answers the health endpoints for one app.

    Args:
        version: reported by /health/detailed.
        timeout_ms: bound on each check.
        token: the bearer token that unlocks the details of /health/detailed; without
            one, every caller gets each check's status only.
        checks: name -> check; defaults to the live module registry.
        secrets: values to scrub from any message shown or logged.
    """

    def __init__(
        self,
        *,
        version: str,
        timeout_ms: int,
        token: str | None = None,
        checks: Mapping[str, CheckFn] | None = None,
        secrets: list[str] | None = None,
    ) -> None:
        self.version = version
        self.timeout = timeout_ms / 1000
        self._token = token.encode() if token else None
        self._checks = _checks if checks is None else checks
        self._secrets = [value for value in (secrets or []) if value]

    # --- endpoints -----------------------------------------------------------

    def liveness(self) -> Reply:
        """GET /health: the process can serve; dependencies are not looked at."""
        return Reply(200, self.liveness_body(), self.liveness_headers())

    @staticmethod
    def liveness_body() -> dict[str, Any]:
        """The body of every liveness answer (constant: servers may encode it once)."""
        return {"status": "ok"}

    @staticmethod
    def liveness_headers() -> dict[str, str]:
        """The extra headers of every liveness answer."""
        return dict(_NO_STORE)

    def readiness(self) -> Reply:
        """GET /health/ready, for threaded servers."""
        if shutting_down():
            return self._shutting_down()
        return self._ready_reply(self.run_checks())

    async def readiness_async(self) -> Reply:
        """GET /health/ready, for asyncio servers."""
        if shutting_down():
            return self._shutting_down()
        return self._ready_reply(await self.run_checks_async())

    def detailed(self, authorization: str | None) -> Reply:
        """GET /health/detailed, for threaded servers."""
        return self._detailed_reply(self.run_checks(), full=self.authorized(authorization))

    async def detailed_async(self, authorization: str | None) -> Reply:
        """GET /health/detailed, for asyncio servers."""
        results = await self.run_checks_async()
        return self._detailed_reply(results, full=self.authorized(authorization))

    def authorized(self, authorization: str | None) -> bool:
        """Whether an Authorization header unlocks the details of /health/detailed."""
        if self._token is None:
            return False
        scheme, _, credentials = (authorization or "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(credentials.strip().encode(), self._token)

    # --- running checks ------------------------------------------------------

    def run_checks(self) -> dict[str, CheckResult]:
        """Run every check at once on the check threads; wait at most one timeout."""
        checks = dict(self._checks)
        futures = {name: self._shared_run(name, fn) for name, fn in checks.items()}
        concurrent.futures.wait(futures.values(), timeout=self.timeout)
        return {name: self._outcome(name, future) for name, future in futures.items()}

    def _shared_run(self, name: str, fn: CheckFn) -> concurrent.futures.Future[CheckResult]:
        """The run of fn in flight on the check threads, started if there is none."""
        key = (self, name, fn)
        now = time.monotonic()
        with _inflight_lock:
            running = _inflight.get(key)
            # A run older than one timeout is not joined: its dependency may have recovered.
            if running is not None and now - running[1] < self.timeout:
                return running[0]
            future = _executor.submit(self._timed, fn)
            _inflight[key] = (future, now)
        future.add_done_callback(lambda done: _forget(key, done))
        return future

    async def run_checks_async(self) -> dict[str, CheckResult]:
        """Run every check at once without blocking the event loop; wait at most one timeout."""
        checks = dict(self._checks)
        tasks: dict[str, asyncio.Future[CheckResult]] = {}
        loop = asyncio.get_running_loop()
        for name, fn in checks.items():
            if inspect.iscoroutinefunction(fn):
                tasks[name] = asyncio.ensure_future(self._timed_async(fn))
            else:
                tasks[name] = asyncio.wrap_future(self._shared_run(name, fn), loop=loop)
        if tasks:
            await asyncio.wait(tasks.values(), timeout=self.timeout)
        results = {}
        for name, task in tasks.items():
            # A shared run is left alone: other requests may be waiting for it.
            if not task.done() and inspect.iscoroutinefunction(checks[name]):
                task.cancel()
            results[name] = self._outcome(name, task)
        return results

    def _timed(self, fn: CheckFn) -> CheckResult:
        """Run a check on this thread and time it (async checks get their own loop)."""
        started = time.perf_counter()
        try:
            outcome = fn()
            if inspect.isawaitable(outcome):
                asyncio.run(asyncio.wait_for(_as_coroutine(outcome), self.timeout))
        except Exception as exc:  # noqa: BLE001 (any failure is the check's result)
            return self._failed(started, exc)
        return CheckResult("ok", _elapsed_ms(started))

    async def _timed_async(self, fn: CheckFn) -> CheckResult:
        """Await an async check and time it."""
        started = time.perf_counter()
        try:
            outcome = fn()
            if inspect.isawaitable(outcome):
                await outcome
        except Exception as exc:  # noqa: BLE001 (any failure is the check's result)
            return self._failed(started, exc)
        return CheckResult("ok", _elapsed_ms(started))

    def _failed(self, started: float, exc: BaseException) -> CheckResult:
        """The result of a check that raised exc."""
        if isinstance(exc, CheckFailed):
            message = self._scrub(str(exc))
        elif isinstance(exc, TimeoutError):
            message = f"timed out after {round(self.timeout * 1000)} ms"
        else:
            message = type(exc).__name__
        return CheckResult("error", _elapsed_ms(started), message)

    def _outcome(
        self,
        name: str,
        future: concurrent.futures.Future[CheckResult] | asyncio.Future[CheckResult],
    ) -> CheckResult:
        """A finished check's result, or a timeout for one still running."""
        if future.done() and not future.cancelled():
            result = future.result()
        else:
            timeout_ms = round(self.timeout * 1000)
            result = CheckResult("error", float(timeout_ms), f"timed out after {timeout_ms} ms")
        if result.status != "ok":
            _log.warning(
                "health check failed",
                extra={"fields": {"check": name, "reason": result.message}},
            )
        return result

    def _scrub(self, text: str) -> str:
        """text with every secret value replaced by '***'."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text[:200]

    # --- replies -------------------------------------------------------------

    def _ready_reply(self, results: dict[str, CheckResult]) -> Reply:
        healthy = all(result.status == "ok" for result in results.values())
        body = {
            "status": "ok" if healthy else "unavailable",
            "checks": {name: result.status for name, result in results.items()},
        }
        return Reply(200 if healthy else 503, body, _NO_STORE)

    def _detailed_reply(self, results: dict[str, CheckResult], *, full: bool) -> Reply:
        healthy = all(result.status == "ok" for result in results.values())
        if not full:
            checks = {name: {"status": result.status} for name, result in results.items()}
            public = {"status": "ok" if healthy else "degraded", "checks": checks}
            return Reply(200 if healthy else 503, public, _NO_STORE)
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        body = {
            "status": "ok" if healthy else "degraded",
            "timestamp": now,
            "version": self.version or "unknown",
            "uptime": round(time.monotonic() - _PROCESS_START, 3),
            "checks": {name: result.as_dict() for name, result in results.items()},
        }
        return Reply(200 if healthy else 503, body, _NO_STORE)

    def _shutting_down(self) -> Reply:
        return Reply(503, {"status": "shutting_down"}, _NO_STORE)


def _forget(key: tuple[object, str, CheckFn], done: concurrent.futures.Future[CheckResult]) -> None:
    """Drop a finished run, so the next request runs the check afresh."""
    with _inflight_lock:
        running = _inflight.get(key)
        if running is not None and running[0] is done:
            del _inflight[key]


def _elapsed_ms(started: float) -> float:
    """Milliseconds since started (a perf_counter value), to 0.001 ms."""
    return round((time.perf_counter() - started) * 1000, 3)


async def _as_coroutine(awaitable: Awaitable[object]) -> object:
    """Wrap any awaitable in a coroutine (asyncio.run takes only coroutines)."""
    return await awaitable
