"""Real PostgreSQL and Redis servers on loopback for the service tests (no mocks).

Each server runs from a throwaway directory on a free port. Tests stop, freeze
(SIGSTOP: the socket accepts but nothing answers, like a hung dependency) and
restart them to watch how the rendered services react.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from helpers import require_tool

PG_PASSWORD = "pg-Secret-0d1f2e3c"
REDIS_PASSWORD = "redis-Secret-9a8b7c6d"


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    """Block until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def _postgres_bindir() -> Path:
    """Directory of Debian's PostgreSQL server binaries (initdb, pg_ctl), newest version."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=_version_key)
    if not candidates:
        require_tool("initdb")  # skips on a laptop without PostgreSQL, fails in CI
    return Path(candidates[-1]).parent


def _version_key(path: Path) -> int:
    return int(path.parts[-3])


def _as_server_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: under root, run it as the 'postgres' user."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@dataclass
class Postgres:
    """One PostgreSQL cluster; passwords checked with the given method (scram-sha-256 or md5)."""

    auth: str = "scram-sha-256"
    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="prodready-pg-")))

    @property
    def url(self) -> str:
        """Connection URL with the superuser's password."""
        return f"postgres://postgres:{PG_PASSWORD}@127.0.0.1:{self.port}/postgres"

    def init(self) -> Postgres:
        """Create the cluster (initdb) and start it."""
        bindir = _postgres_bindir()
        self.bindir = bindir
        pwfile = self.root / "pwfile"
        pwfile.write_text(PG_PASSWORD + "\n")
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            shutil.chown(pwfile, "postgres")
        subprocess.run(
            _as_server_user(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(self.root / "data"),
                    "-U",
                    "postgres",
                    "--auth-local=trust",
                    f"--auth-host={self.auth}",
                    f"--pwfile={pwfile}",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )
        self.start()
        if self.auth == "md5":
            # initdb stored the password as SCRAM; store it again as an md5 hash.
            self.psql(f"ALTER ROLE postgres PASSWORD '{PG_PASSWORD}'")
        return self

    def psql(self, sql: str) -> str:
        """Run SQL as the superuser over the local socket; return psql's output."""
        where = ["-h", str(self.root), "-p", str(self.port), "-U", "postgres", "-d", "postgres"]
        psql = [str(self.bindir / "psql"), *where, "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql]
        result = subprocess.run(_as_server_user(psql), check=True, capture_output=True, text=True)
        return result.stdout

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
            f" -c fsync=off -c password_encryption={self.auth}"
        )
        self._pg_ctl("-l", str(self.root / "server.log"), "-o", options, "start")
        wait_for_port(self.port)

    def stop(self) -> None:
        """Stop the server (fast shutdown: clients are disconnected)."""
        self._pg_ctl("-m", "fast", "stop")

    def _pg_ctl(self, *args: str) -> None:
        """Run pg_ctl on this cluster, waiting for it to finish (-w), silently (-s)."""
        pg_ctl = [str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-w", "-s"]
        subprocess.run(_as_server_user([*pg_ctl, *args]), check=True, capture_output=True)

    def pid(self) -> int:
        """PID of the postmaster."""
        return int((self.root / "data" / "postmaster.pid").read_text().split()[0])

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """Freeze the postmaster: connections are accepted by the kernel but never answered."""
        with _frozen(self.pid()):
            yield

    def destroy(self) -> None:
        """Stop the server and remove its files."""
        with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class Redis:
    """One redis-server with a password, no persistence."""

    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Connection URL with the password."""
        return f"redis://:{REDIS_PASSWORD}@127.0.0.1:{self.port}/0"

    def start(self) -> Redis:
        """Start the server and wait until it accepts connections."""
        binary = require_tool("redis-server")
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--requirepass",
                REDIS_PASSWORD,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        """Stop the server."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """Freeze the server: connections are accepted but never answered."""
        assert self.proc is not None
        with _frozen(self.proc.pid):
            yield


@contextlib.contextmanager
def _frozen(pid: int) -> Iterator[None]:
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)
