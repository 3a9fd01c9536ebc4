"""Go-specific checks beyond the cross-language contract (test_service_contract.py).

The Go service has no driver: `server migrate` speaks the PostgreSQL protocol
through the rendered internal/pgwire, and the Redis check speaks RESP through
internal/resp. These tests run both against real servers: every password method
PostgreSQL offers, concurrent migration runners, a failing migration, Redis
AUTH with a password and with an ACL user. They also build and test every
dependency combination, since the contract test only renders the full stack.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from helpers import FULL_STACK, choices, render, require_tool
from servers import PG_PASSWORD, REDIS_PASSWORD, Postgres, Redis, free_port
from service_runner import Service, get, run_once, run_step, toolchain_path

# One worker builds the service and starts the servers once for the whole module.
pytestmark = pytest.mark.xdist_group("go-service")

# Passwords of the roles the migration tests log in as, one per pg_hba method.
ROLE_PASSWORD = "role-Secret-7e6d5c4b"
METHODS = ("scram-sha-256", "md5", "password", "trust")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, template_src: Path) -> Path:
    """The Go service with Postgres and Redis, rendered and built (./server)."""
    root = render(
        template_src, tmp_path_factory.mktemp("go") / "go-svc", language="go", **FULL_STACK
    )
    run_step(root, "go", "build")
    return root


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    """A TLS-enabled cluster with one role per password method (and one rejected role)."""
    openssl = require_tool("openssl")
    server = Postgres().init()
    cert, key = server.root / "server.crt", server.root / "server.key"
    subprocess.run(
        [openssl, "req", "-new", "-x509", "-days", "2", "-nodes", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    key.chmod(0o600)
    if os.geteuid() == 0:
        shutil.chown(cert, "postgres")
        shutil.chown(key, "postgres")
    for setting, value in (("ssl_cert_file", cert), ("ssl_key_file", key), ("ssl", "on")):
        server.psql(f"ALTER SYSTEM SET {setting} = '{value}'")
    hba = server.root / "data" / "pg_hba.conf"
    lines = [f"host all role_{_ident(m)} 127.0.0.1/32 {m}" for m in METHODS]
    lines.append("host all role_rejected 127.0.0.1/32 reject")
    # First match wins: the per-role lines go before initdb's catch-all ones.
    hba.write_text("\n".join(lines) + "\n" + hba.read_text())
    for method in METHODS:
        role = f"role_{_ident(method)}"
        encryption = "md5" if method == "md5" else "scram-sha-256"
        server.psql(
            f"SET password_encryption = '{encryption}';"
            f" CREATE ROLE {role} LOGIN PASSWORD '{ROLE_PASSWORD}'"
        )
    server.psql("ALTER SYSTEM SET log_connections = on")
    server.psql("SELECT pg_reload_conf()")
    yield server
    server.destroy()


@pytest.fixture
def database(postgres: Postgres, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database for one test, owned by role_scram_sha_256."""
    name = "t_" + _ident(request.node.name)[-50:].lower()
    postgres.psql(f"CREATE DATABASE {name} OWNER role_scram_sha_256")
    yield name
    postgres.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def redis_server() -> Iterator[Redis]:
    """redis-server with requirepass and an extra ACL user."""
    server = Redis().start()
    client = redis.Redis(port=server.port, password=REDIS_PASSWORD)
    client.acl_setuser(
        "worker",
        enabled=True,
        passwords=["+worker-Secret-3c2b1a"],
        commands=["+@all"],
        keys=["*"],
    )
    client.close()
    yield server
    server.stop()


def role_url(postgres: Postgres, method: str, db: str, password: str = ROLE_PASSWORD) -> str:
    return f"postgres://role_{_ident(method)}:{password}@127.0.0.1:{postgres.port}/{db}"


def migrate(project: Path, url: str, binary: str = "server") -> subprocess.CompletedProcess[str]:
    """Run `server migrate` with nothing but DATABASE_URL (a migration job needs no more)."""
    return run_once(project, "go", [str(project / binary), "migrate"], {"DATABASE_URL": url})


def log_records(output: str) -> list[dict[str, Any]]:
    records = []
    for line in output.splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


def applied_count(output: str) -> int:
    """How many migrations a run applied, from its final JSON log line."""
    done = [r for r in log_records(output) if r.get("msg") == "migrations up to date"]
    assert done, f"no final log line:\n{output}"
    return int(done[-1]["applied"])


def migration_files(project: Path) -> list[str]:
    return sorted(path.stem for path in (project / "migrations").glob("*.sql"))


def recorded_versions(postgres: Postgres, db: str) -> list[str]:
    url = f"postgres://postgres:{PG_PASSWORD}@127.0.0.1:{postgres.port}/{db}"
    with psycopg.connect(url) as conn:
        rows = conn.execute("select version from schema_migrations order by version").fetchall()
    return [row[0] for row in rows]


@pytest.mark.parametrize("method", METHODS)
def test_migrate_logs_in_with_every_password_method_and_reruns_cleanly(
    project: Path, postgres: Postgres, method: str
) -> None:
    db = f"auth_{_ident(method)}"
    postgres.psql(f"CREATE DATABASE {db} OWNER role_{_ident(method)}")
    log_before = (postgres.root / "server.log").read_text(errors="replace")

    first = migrate(project, role_url(postgres, method, db))
    assert first.returncode == 0, first.stdout + first.stderr
    assert applied_count(first.stdout) == len(migration_files(project))
    second = migrate(project, role_url(postgres, method, db))
    assert second.returncode == 0, second.stdout + second.stderr
    assert applied_count(second.stdout) == 0, "a re-run must apply nothing"

    assert recorded_versions(postgres, db) == migration_files(project)
    for output in (first.stdout + first.stderr, second.stdout + second.stderr):
        assert ROLE_PASSWORD not in output
    # The server's own log says which method it used (log_connections).
    new_log = (postgres.root / "server.log").read_text(errors="replace")[len(log_before) :]
    if method != "trust":
        assert f"method={method}" in new_log, new_log[-2000:]


def test_a_wrong_password_fails_cleanly_without_echoing_it(
    project: Path, postgres: Postgres, database: str
) -> None:
    wrong = "wrong-Secret-1a2b3c4d"
    started = time.monotonic()
    result = migrate(project, role_url(postgres, "scram-sha-256", database, password=wrong))
    output = result.stdout + result.stderr
    assert time.monotonic() - started < 10, "waiting cannot fix a password: no retries"
    assert result.returncode == 1, output
    assert "28P01" in output, output  # invalid_password
    assert wrong not in output and ROLE_PASSWORD not in output
    assert "panic:" not in output


def test_migrate_waits_for_a_database_that_is_still_starting(
    project: Path, postgres: Postgres, database: str
) -> None:
    env = {"DATABASE_URL": role_url(postgres, "scram-sha-256", database)}
    postgres.stop()
    try:
        runner = subprocess.Popen(
            [str(project / "server"), "migrate"],
            cwd=project,
            env={**env, "PATH": toolchain_path(project, "go")},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        time.sleep(1.5)
    finally:
        postgres.start()
    output = runner.communicate(timeout=60)[0]
    assert runner.returncode == 0, output
    assert "database not ready; retrying" in output
    assert applied_count(output) == len(migration_files(project))


def test_concurrent_runners_apply_each_migration_once(
    project: Path, postgres: Postgres, database: str
) -> None:
    url = role_url(postgres, "scram-sha-256", database)
    env = {"DATABASE_URL": url, "PATH": toolchain_path(project, "go")}
    runners = [
        subprocess.Popen(
            [str(project / "server"), "migrate"],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [runner.communicate(timeout=60)[0] for runner in runners]
    assert [runner.returncode for runner in runners] == [0] * 4, outputs
    # The advisory lock serializes them: together they applied every file once.
    assert sum(applied_count(output) for output in outputs) == len(migration_files(project))
    assert recorded_versions(postgres, database) == migration_files(project)


def test_a_failing_migration_rolls_back_and_stops(
    project: Path, postgres: Postgres, database: str, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    subprocess.run(["cp", "-a", str(project), str(broken)], check=True)
    (broken / "migrations" / "9998_half_done.sql").write_text(
        "CREATE TABLE half_done (id int);\nSELECT no_such_function();\n"
    )
    (broken / "migrations" / "9999_never.sql").write_text("CREATE TABLE never_reached (id int);\n")
    run_step(broken, "go", "build")  # go:embed takes the new files into the binary

    result = migrate(broken, role_url(postgres, "scram-sha-256", database))
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "9998_half_done" in output and "42883" in output, output  # undefined_function
    assert recorded_versions(postgres, database) == migration_files(project)
    url = f"postgres://postgres:{PG_PASSWORD}@127.0.0.1:{postgres.port}/{database}"
    with psycopg.connect(url) as conn:
        tables = {
            row[0]
            for row in conn.execute("select tablename from pg_tables where schemaname = 'public'")
        }
    assert "half_done" not in tables, "the failed file's statements must roll back"
    assert "never_reached" not in tables, "files after a failure must not run"


@pytest.fixture
def start_service(project: Path, postgres: Postgres) -> Iterator[Any]:
    """Start the Go service with a given REDIS_URL; every started one is stopped afterwards."""
    started: list[Service] = []

    def start(redis_url: str, database_url: str | None = None) -> Service:
        env = {
            "DATABASE_URL": database_url or postgres.url,
            "REDIS_URL": redis_url,
            "HEALTH_CHECK_TIMEOUT_MS": "1000",
            "SHUTDOWN_DELAY_SECONDS": "0",
        }
        service = Service(project, "go", [str(project / "server")], env, free_port()).start()
        started.append(service)
        service.wait_healthy(timeout=15)
        return service

    yield start
    for service in started:
        service.stop()


def redis_check(service: Service) -> dict[str, Any]:
    answer = get(service.base_url + "/health/detailed")
    check: dict[str, Any] = answer.json()["checks"]["redis"]
    assert REDIS_PASSWORD not in answer.body and "worker-Secret" not in answer.body
    return check


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        pytest.param((f":{REDIS_PASSWORD}", "0"), ("ok", None), id="password"),
        pytest.param((f":{REDIS_PASSWORD}", "3"), ("ok", None), id="password-select-db"),
        pytest.param(("worker:worker-Secret-3c2b1a", "0"), ("ok", None), id="acl-user"),
        pytest.param((":wrong-password", "0"), ("error", "WRONGPASS"), id="wrong-password"),
        pytest.param(("", "0"), ("error", "NOAUTH"), id="no-password"),
        pytest.param((f":{REDIS_PASSWORD}", "99"), ("error", "DB index"), id="db-out-of-range"),
    ],
)
def test_redis_check_authenticates_over_resp(
    start_service: Any,
    redis_server: Redis,
    target: tuple[str, str],
    expected: tuple[str, str | None],
) -> None:
    userinfo, db = target
    status, message = expected
    at = f"{userinfo}@" if userinfo else ""
    service = start_service(f"redis://{at}127.0.0.1:{redis_server.port}/{db}")
    check = redis_check(service)
    assert check["status"] == status, check
    if message:
        assert message in check["message"], check
    assert REDIS_PASSWORD not in service.output()


def test_postgres_check_leaves_no_noise_in_the_server_log(
    start_service: Any, postgres: Postgres, redis_server: Redis
) -> None:
    # pg_isready's way: hang up at the authentication request. PostgreSQL logs
    # nothing for that, so probing every few seconds must not flood its log.
    log = postgres.root / "server.log"
    service = start_service(redis_server.url)
    before = len(log.read_text(errors="replace"))
    for _ in range(5):
        assert get(service.base_url + "/health/ready").status == 200
    new = log.read_text(errors="replace")[before:]
    noisy = [line for line in new.splitlines() if "FATAL" in line or "ERROR" in line]
    assert not noisy, "\n".join(noisy)


def test_postgres_check_reports_a_refused_connection_by_sqlstate(
    start_service: Any, postgres: Postgres, redis_server: Redis
) -> None:
    url = f"postgres://role_rejected:{ROLE_PASSWORD}@127.0.0.1:{postgres.port}/postgres"
    service = start_service(redis_server.url, database_url=url)
    answer = get(service.base_url + "/health/ready")
    assert answer.status == 503, answer.body
    check = get(service.base_url + "/health/detailed").json()["checks"]["postgres"]
    assert check["status"] == "error"
    assert "28000" in check["message"], check  # pg_hba.conf says reject
    assert "role_rejected" not in check["message"], "the server's text names users: not shown"


@pytest.mark.parametrize("sslmode", ["prefer", "require", "verify-ca", "verify-full"])
def test_migrate_speaks_tls_as_sslmode_asks(
    project: Path, postgres: Postgres, database: str, sslmode: str
) -> None:
    log = postgres.root / "server.log"
    before = len(log.read_text(errors="replace"))
    query = f"sslmode={sslmode}"
    if sslmode.startswith("verify"):
        query += f"&sslrootcert={postgres.root / 'server.crt'}"
    host = "localhost" if sslmode == "verify-full" else "127.0.0.1"
    url = role_url(postgres, "scram-sha-256", database).replace("127.0.0.1", host) + "?" + query
    result = migrate(project, url)
    assert result.returncode == 0, result.stdout + result.stderr
    authorized = [
        line
        for line in log.read_text(errors="replace")[before:].splitlines()
        if "connection authorized" in line and "-migrate" in line
    ]
    assert authorized and all("SSL enabled" in line for line in authorized), authorized


def test_verify_full_refuses_an_untrusted_certificate(
    start_service: Any, project: Path, postgres: Postgres, redis_server: Redis, database: str
) -> None:
    url = role_url(postgres, "scram-sha-256", database) + "?sslmode=verify-full"
    started = time.monotonic()
    result = migrate(project, url)
    assert result.returncode == 1
    assert time.monotonic() - started < 10, "waiting cannot fix a certificate: no retries"
    assert "certificate signed by unknown authority" in result.stdout + result.stderr
    # The readiness check negotiates TLS the same way.
    service = start_service(redis_server.url, database_url=url)
    check = get(service.base_url + "/health/detailed").json()["checks"]["postgres"]
    assert check["status"] == "error" and "TLS" in check["message"], check


@pytest.mark.slow
@pytest.mark.parametrize("cache", choices("cache"))
@pytest.mark.parametrize("database", choices("database"))
def test_every_dependency_combination_builds_vets_and_passes_its_tests(
    template_src: Path, tmp_path: Path, database: str, cache: str
) -> None:
    root = render(template_src, tmp_path / "svc", language="go", database=database, cache=cache)
    for step in ("lint", "typecheck", "test"):
        run_step(root, "go", step)
    # Standard library only: no requirements, no go.sum, nothing to download.
    assert "require" not in (root / "go.mod").read_text()
    assert not (root / "go.sum").exists()
    packages = {path.parent.name for path in (root / "internal").rglob("*.go")}
    assert ("pgwire" in packages) == (database == "postgres")
    assert ("migrate" in packages) == (database == "postgres")
    assert (root / "migrations").exists() == (database == "postgres")
    assert ("resp" in packages) == (cache == "redis")


def _ident(text: str) -> str:
    """An SQL identifier fragment from free text (scram-sha-256 -> scram_sha_256)."""
    return "".join(ch if ch.isalnum() else "_" for ch in text)
