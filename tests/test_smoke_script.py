"""scripts/smoke-test.sh against real servers on 127.0.0.1: passes, fails in time, says why."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from docs_helpers import SERVICE, Renders
from helpers import require_tool


@pytest.fixture(scope="module")
def script(renders: Renders) -> Path:
    return renders.get(service_name=SERVICE) / "scripts/smoke-test.sh"


class _Service(ThreadingHTTPServer):
    """A stand-in service: /health always ok, /health/ready with a chosen status."""

    ready_status = 200
    health_body = b'{"status":"ok"}'
    # Requests to readiness before it turns ready (0: ready from the start).
    not_ready_for = 0
    hits = 0
    # What /health/detailed reports, and the bearer token it requires (None: open).
    version = "3f9c2ab"
    token: str | None = None


class _Handler(BaseHTTPRequestHandler):
    server: _Service

    def do_GET(self) -> None:
        if self.path == "/health":
            self._send(200, self.server.health_body)
        elif self.path == "/health/ready":
            self.server.hits += 1
            status = (
                503 if self.server.hits <= self.server.not_ready_for else self.server.ready_status
            )
            state = "ok" if status == 200 else "unavailable"
            self._send(
                status, json.dumps({"status": state, "checks": {"postgres": state}}).encode()
            )
        elif self.path == "/health/detailed":
            if self.server.token and self.headers.get("Authorization") != (
                f"Bearer {self.server.token}"
            ):
                self._send(401, b'{"status":"unauthorized"}')
                return
            body = {"status": "ok", "version": self.server.version, "checks": {}}
            self._send(200, json.dumps(body, indent=2).encode())
        else:
            self._send(404, b'{"error":"not found"}')

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def service() -> Iterator[_Service]:
    server = _Service(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _url(server: _Service) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def _dead_port() -> int:
    # A port that was just free: nothing listens on it.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(
    script: Path,
    url: str,
    *,
    timeout: int = 20,
    path: str | None = None,
    options: tuple[str, ...] = (),
    token: str | None = None,
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SMOKE_TIMEOUT_SECONDS": str(timeout), "SMOKE_MAX_DELAY_SECONDS": "1"}
    if path is not None:
        env["PATH"] = path
    if token is not None:
        env["HEALTH_TOKEN"] = token
    return subprocess.run(
        [str(script), *options, url],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout + 30,
        check=False,
    )


def test_shellcheck_clean(script: Path) -> None:
    shellcheck = require_tool("shellcheck")
    result = subprocess.run(
        [shellcheck, "-S", "warning", str(script)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout
    assert "set -euo pipefail" in script.read_text()
    assert os.access(script, os.X_OK), "smoke-test.sh must be executable"


def test_passes_against_a_healthy_service(script: Path, service: _Service) -> None:
    require_tool("curl")
    result = _run(script, _url(service) + "/")
    assert result.returncode == 0, result.stderr
    assert "PASS" in result.stdout


def test_retries_until_the_service_becomes_ready(script: Path, service: _Service) -> None:
    require_tool("curl")
    service.not_ready_for = 2
    result = _run(script, _url(service), timeout=20)
    assert result.returncode == 0, result.stderr
    assert "attempt 1 failed" in result.stderr
    assert "after 3 attempt(s)" in result.stdout


def test_fails_naming_readiness_when_it_answers_503(script: Path, service: _Service) -> None:
    require_tool("curl")
    service.ready_status = 503
    result = _run(script, _url(service), timeout=2)
    assert result.returncode == 1
    failures = result.stderr.split("FAIL", 1)[1]
    assert "/health/ready: HTTP 503" in failures
    assert "unavailable" in failures
    assert "- /health:" not in failures, "liveness was fine and must not be reported"


def test_fails_when_health_is_not_the_services_json(script: Path, service: _Service) -> None:
    require_tool("curl")
    service.health_body = b"<html>proxy default page</html>"
    result = _run(script, _url(service), timeout=1)
    assert result.returncode == 1
    assert '/health: HTTP 200 but the body is not {"status":"ok"}' in result.stderr


def test_fails_within_its_time_budget_against_a_dead_port(script: Path) -> None:
    require_tool("curl")
    started = time.monotonic()
    result = _run(script, f"http://127.0.0.1:{_dead_port()}", timeout=3)
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert "no response" in result.stderr
    assert elapsed < 3 + 5, f"took {elapsed:.1f}s for a 3s budget"


def test_works_with_wget_when_curl_is_missing(
    script: Path, service: _Service, tmp_path: Path
) -> None:
    # A PATH with the tools the script uses, wget included and curl left out.
    require_tool("wget")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "env", "mktemp", "rm", "head", "tr", "grep", "awk", "sleep", "wget"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    assert _run(script, _url(service), path=str(bin_dir)).returncode == 0
    service.ready_status = 503
    result = _run(script, _url(service), timeout=1, path=str(bin_dir))
    assert result.returncode == 1
    assert "/health/ready: HTTP 503" in result.stderr


@pytest.mark.parametrize(
    "args",
    [[], ["not-a-url"], ["http://a", "extra"], ["--expect-version"], ["--bogus", "http://a"]],
)
def test_rejects_bad_usage(script: Path, args: list[str]) -> None:
    result = subprocess.run(
        [str(script), *args], capture_output=True, text=True, check=False, timeout=10
    )
    assert result.returncode == 2
    assert "usage" in result.stderr


def test_rejects_a_non_numeric_timeout(script: Path) -> None:
    env = {**os.environ, "SMOKE_TIMEOUT_SECONDS": "soon"}
    result = subprocess.run(
        [str(script), "http://127.0.0.1:1"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "SMOKE_TIMEOUT_SECONDS" in result.stderr


def test_expect_version_passes_only_on_the_release_deployed(
    script: Path, service: _Service
) -> None:
    # Two close pushes: the smoke test of A must not pass on B's release.
    require_tool("curl")
    passed = _run(script, _url(service), options=("--expect-version", "3f9c2ab"))
    assert passed.returncode == 0, passed.stderr
    assert "version 3f9c2ab" in passed.stdout
    service.version = "9e8d7c6"
    failed = _run(script, _url(service), timeout=1, options=("--expect-version", "3f9c2ab"))
    assert failed.returncode == 1
    assert "version '9e8d7c6' serves, expected '3f9c2ab'" in failed.stderr


def test_expect_version_sends_the_health_token(script: Path, service: _Service) -> None:
    require_tool("curl")
    service.token = "a-long-health-token"
    refused = _run(script, _url(service), timeout=1, options=("--expect-version", "3f9c2ab"))
    assert refused.returncode == 1
    assert "HTTP 401" in refused.stderr
    result = _run(
        script, _url(service), options=("--expect-version", "3f9c2ab"), token=service.token
    )
    assert result.returncode == 0, result.stderr


def test_help_exits_zero_and_documents_the_options(script: Path) -> None:
    result = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, check=False, timeout=10
    )
    assert result.returncode == 0, result.stderr
    assert "--expect-version" in result.stdout
    assert "HEALTH_TOKEN" in result.stdout
