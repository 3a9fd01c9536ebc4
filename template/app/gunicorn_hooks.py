"""Gunicorn master hooks: the drain on SIGTERM and the per-run scratch directory.

On SIGTERM gunicorn's master closes its listening sockets at once. A load balancer
that still routes to this instance would then see refused connections, so the
master first announces the drain instead: it creates a flag file that every
worker's readiness endpoint checks (and answers 503), keeps serving for
SHUTDOWN_DELAY_SECONDS while the load balancers notice, and only then hands the
signal to gunicorn's own graceful stop (listeners closed, in-flight requests
given graceful_timeout = SHUTDOWN_TIMEOUT_SECONDS to finish, exit 0).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from app.health import DRAIN_FILE_ENV

_log = logging.getLogger("gunicorn.error")


def prepare_runtime_dir() -> Path:
    """A fresh scratch directory under /tmp for this gunicorn run, announced to the workers.

    It holds the drain flag file and prometheus-client's multiprocess files; the
    environment variables set here are inherited by every worker gunicorn forks.
    """
    runtime = Path(tempfile.mkdtemp(prefix="gunicorn-"))
    metrics_dir = runtime / "prometheus"
    metrics_dir.mkdir()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    os.environ[DRAIN_FILE_ENV] = str(runtime / "draining")
    return runtime


def install_drain_handler(server: Any, delay_seconds: int) -> None:
    """Replace the master's SIGTERM handler with: flag the drain, wait delay_seconds, stop.

    Called from gunicorn's when_ready hook, after gunicorn installed its own handlers.
    """
    graceful_stop = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        Path(os.environ[DRAIN_FILE_ENV]).touch()
        # From now on a second SIGTERM stops at once, as gunicorn normally would.
        signal.signal(signal.SIGTERM, graceful_stop)
        _log.info(
            "SIGTERM received: readiness answers 503; draining before stopping",
            extra={"fields": {"delay_seconds": delay_seconds}},
        )
        timer = threading.Timer(delay_seconds, os.kill, (os.getpid(), signal.SIGTERM))
        timer.daemon = True
        timer.start()

    signal.signal(signal.SIGTERM, on_sigterm)
    _log.debug("drain handler installed", extra={"fields": {"master_pid": server.pid}})


def mark_worker_dead(pid: int) -> None:
    """Let prometheus-client drop a dead worker's live gauges (counters are kept)."""
    from prometheus_client import multiprocess  # noqa: PLC0415 (workers import it, not the master)

    multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def remove_runtime_dir(runtime: Path) -> None:
    """Delete the scratch directory when gunicorn exits."""
    shutil.rmtree(runtime, ignore_errors=True)
