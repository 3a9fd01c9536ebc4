"""Go-specific checks beyond the cross-language contract (test_service_contract.py).

The Go service talks to PostgreSQL through pgx (a pgxpool for readiness, one
connection for `server migrate`) and to Redis through go-redis. These tests run
both against real servers: every password method PostgreSQL offers, sslmode and
channel_binding as libpq means them, readiness that logs in for real, a
migration stopped by SIGTERM, concurrent and failing migrations, Redis AUTH with
a password and an ACL user, the runtime and process metrics. They also build,
vet and test every dependency combination from its pinned go.sum, since the
contract test only renders the full stack.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from helpers import FULL_STACK, choices, render, require_tool
from servers import PG_PASSWORD, REDIS_PASSWORD, Postgres, Redis, free_port
from service_runner import Service, get, run_once, run_step, toolchain_path

# One worker builds the service and starts the servers once for the whole module.
pytestmark = pytest.mark.xdist_group("go-service")

# Passwords of the roles the migration tests log in as, one per pg_hba method.
ROLE_PASSWORD = "role-Secret-7e6d5c4b"
METHODS = ("scram-sha-256", "md5", "password", "trust")
HEALTH_TOKEN = "go-health-token-6a5b4c3d2e1f"
AUTH = {"Authorization": f"Bearer {HEALTH_TOKEN}"}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, template_src: Path) -> Path:
    """The Go service with Postgres and Redis, rendered and built (./server)."""
    root = render(
        template_src, tmp_path_factory.mktemp("go") / "go-svc", language="go", **FULL_STACK
    )
    run_step(root, "go", "install")
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
    # One role that may log in over TLS only, one over plain TCP only.
    lines += [
        "hostssl all role_tls_only 127.0.0.1/32 scram-sha-256",
        "hostnossl all role_tls_only 127.0.0.1/32 reject",
        "hostnossl all role_plain_only 127.0.0.1/32 scram-sha-256",
        "hostssl all role_plain_only 127.0.0.1/32 reject",
    ]
    # First match wins: the per-role lines go before initdb's catch-all ones.
    hba.write_text("\n".join(lines) + "\n" + hba.read_text())
    for method in METHODS:
        role = f"role_{_ident(method)}"
        encryption = "md5" if method == "md5" else "scram-sha-256"
        server.psql(
            f"SET password_encryption = '{encryption}';"
            f" CREATE ROLE {role} LOGIN PASSWORD '{ROLE_PASSWORD}'"
        )
    for role in ("role_tls_only", "role_plain_only"):
        server.psql(f"CREATE ROLE {role} LOGIN PASSWORD '{ROLE_PASSWORD}'")
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


def test_sigterm_stops_a_running_migration_and_leaves_no_lock_held(
    project: Path, postgres: Postgres, database: str, tmp_path: Path
) -> None:
    # A table the app serves from; the slow migration locks it, as an ALTER would.
    superuser = f"postgres://postgres:{PG_PASSWORD}@127.0.0.1:{postgres.port}/{database}"
    with psycopg.connect(superuser, autocommit=True) as conn:
        conn.execute("CREATE TABLE hot (id int)")
        conn.execute("ALTER TABLE hot OWNER TO role_scram_sha_256")
    slow = tmp_path / "slow"
    subprocess.run(["cp", "-a", str(project), str(slow)], check=True)
    (slow / "migrations" / "9999_slow.sql").write_text(
        "LOCK TABLE hot IN ACCESS EXCLUSIVE MODE;\nSELECT pg_sleep(120);\n"
    )
    run_step(slow, "go", "build")
    runner = subprocess.Popen(
        [str(slow / "server"), "migrate"],
        cwd=slow,
        env={
            "DATABASE_URL": role_url(postgres, "scram-sha-256", database),
            "PATH": toolchain_path(slow, "go"),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with psycopg.connect(superuser, autocommit=True) as conn:
            deadline = time.monotonic() + 30
            while not _sleeping_migrations(conn):
                assert runner.poll() is None, runner.communicate()[0]
                assert time.monotonic() < deadline, "the slow migration never started"
                time.sleep(0.1)
            runner.send_signal(signal.SIGTERM)
            output = runner.communicate(timeout=20)[0]
            assert runner.returncode == 1, output
            assert "interrupted" in output, output
            # The statement stopped on the server, not just the client: nothing of the
            # runner is left running and no lock it took is still held.
            assert _sleeping_migrations(conn) == 0
            advisory = conn.execute("select count(*) from pg_locks where locktype = 'advisory'")
            assert advisory.fetchone() == (0,), "the migration lock is still held"
            conn.execute("SET lock_timeout = '2s'")
            conn.execute("SELECT count(*) FROM hot")  # raises if the table lock is still held
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
    assert "9999_slow" not in recorded_versions(postgres, database)
    log = (postgres.root / "server.log").read_text(errors="replace")
    assert "canceling statement due to user request" in log


def _sleeping_migrations(conn: psycopg.Connection[Any]) -> int:
    """Sessions of a migration runner still running a statement."""
    row = conn.execute(
        "select count(*) from pg_stat_activity"
        " where application_name like '%-migrate' and state = 'active'"
    ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def start_service(project: Path, postgres: Postgres) -> Iterator[Any]:
    """Start the Go service with a given REDIS_URL; every started one is stopped afterwards."""
    started: list[Service] = []

    def start(redis_url: str, database_url: str | None = None) -> Service:
        env = {
            "DATABASE_URL": database_url or postgres.url,
            "REDIS_URL": redis_url,
            "HEALTH_TOKEN": HEALTH_TOKEN,
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


def detailed_check(service: Service, name: str) -> dict[str, Any]:
    """One check of /health/detailed as the token holder sees it, after checking the public view.

    Without the token a caller gets the status only: never the driver's text,
    which names hosts, ports and users.
    """
    public = get(service.base_url + "/health/detailed")
    assert set(public.json()["checks"][name]) == {"status"}, public.body
    answer = get(service.base_url + "/health/detailed", headers=AUTH)
    assert answer.status == public.status
    check: dict[str, Any] = answer.json()["checks"][name]
    assert check["status"] == public.json()["checks"][name]["status"]
    for secret in (REDIS_PASSWORD, "worker-Secret", ROLE_PASSWORD, PG_PASSWORD):
        assert secret not in answer.body and secret not in public.body
    return check


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        pytest.param((f":{REDIS_PASSWORD}", "0"), ("ok", None), id="password"),
        pytest.param((f":{REDIS_PASSWORD}", "3"), ("ok", None), id="password-select-db"),
        pytest.param(("worker:worker-Secret-3c2b1a", "0"), ("ok", None), id="acl-user"),
        pytest.param((":wrong-password", "0"), ("error", "WRONGPASS"), id="wrong-password"),
        pytest.param(("", "0"), ("error", "NOAUTH"), id="no-password"),
        pytest.param((f":{REDIS_PASSWORD}", "99"), ("error", "(ERR)"), id="db-out-of-range"),
    ],
)
def test_redis_check_authenticates_and_selects_the_database(
    start_service: Any,
    redis_server: Redis,
    target: tuple[str, str],
    expected: tuple[str, str | None],
) -> None:
    userinfo, db = target
    status, message = expected
    at = f"{userinfo}@" if userinfo else ""
    service = start_service(f"redis://{at}127.0.0.1:{redis_server.port}/{db}")
    check = detailed_check(service, "redis")
    assert check["status"] == status, check
    assert get(service.base_url + "/health/ready").status == (200 if status == "ok" else 503)
    if message:
        assert message in check["message"], check
    assert REDIS_PASSWORD not in service.output()


def test_postgres_check_leaves_no_noise_in_the_server_log(
    start_service: Any, postgres: Postgres, redis_server: Redis
) -> None:
    # Readiness pings a pooled, logged-in connection: probing every few seconds
    # opens no new sessions and leaves nothing in PostgreSQL's log.
    log = postgres.root / "server.log"
    service = start_service(redis_server.url)
    assert get(service.base_url + "/health/ready").status == 200
    before = len(log.read_text(errors="replace"))
    for _ in range(5):
        assert get(service.base_url + "/health/ready").status == 200
    new = log.read_text(errors="replace")[before:]
    noisy = [line for line in new.splitlines() if "FATAL" in line or "ERROR" in line]
    assert not noisy, "\n".join(noisy)
    assert "connection authorized" not in new, "each probe opened a new session"


@pytest.mark.parametrize(
    ("who", "message"),
    [
        pytest.param("wrong-password", "authentication failed (SQLSTATE 28P01)", id="password"),
        pytest.param("missing-database", "database does not exist (SQLSTATE 3D000)", id="db"),
        pytest.param("rejected-role", "authentication failed (SQLSTATE 28000)", id="hba"),
    ],
)
def test_readiness_logs_in_and_fails_on_what_the_server_refuses(
    start_service: Any, postgres: Postgres, redis_server: Redis, who: str, message: str
) -> None:
    # Stopping at the authentication request (pg_isready's way) answered ok for all three.
    url = {
        "wrong-password": role_url(postgres, "scram-sha-256", "postgres", "wrong-Secret-1a2b"),
        "missing-database": role_url(postgres, "scram-sha-256", "no_such_database"),
        "rejected-role": role_url(postgres, "scram-sha-256", "postgres").replace(
            "role_scram_sha_256", "role_rejected"
        ),
    }[who]
    service = start_service(redis_server.url, database_url=url)
    answer = get(service.base_url + "/health/ready")
    assert answer.status == 503, answer.body
    assert answer.json()["checks"]["postgres"] == "error"
    check = detailed_check(service, "postgres")
    assert check["message"] == message, check
    # The operator's log has the driver's whole error.
    failures = [r for r in log_records(service.output()) if r.get("msg") == "health check failed"]
    assert failures and failures[-1]["check"] == "postgres", service.output()[-2000:]


def test_metrics_export_the_go_runtime_and_the_process(
    start_service: Any, redis_server: Redis
) -> None:
    service = start_service(redis_server.url)
    answer = get(service.base_url + "/metrics")
    assert answer.status == 200
    names = {family.name for family in text_string_to_metric_families(answer.body)}
    expected = {
        "go_goroutines",
        "go_gc_duration_seconds",
        "go_memstats_heap_alloc_bytes",
        "process_cpu_seconds",  # the parser drops the counter's _total suffix
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_start_time_seconds",
    }
    assert expected <= names, sorted(expected - names)


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root certificate that did not sign the server's."""
    path = tmp_path_factory.mktemp("other-ca") / "root.crt"
    subprocess.run(
        [require_tool("openssl"), "req", "-new", "-x509", "-days", "2", "-nodes",
         "-subj", "/CN=other-ca", "-keyout", str(path.with_suffix(".key")), "-out", str(path)],
        check=True, capture_output=True,
    )  # fmt: skip
    return path


SCRAM = "role_scram_sha_256"
# sslmode as libpq means it (includes/env-spec.yml, DATABASE_URL notes):
# id: (role, URL query, which root.crt ~/.postgresql holds, connects, over TLS).
SSL_CASES = {
    "disable": (SCRAM, "sslmode=disable", None, True, False),
    "disable-tls-only-role": ("role_tls_only", "sslmode=disable", None, False, False),
    "allow-falls-back-to-tls": ("role_tls_only", "sslmode=allow", None, True, True),
    "allow-plain-first": (SCRAM, "sslmode=allow", None, True, False),
    "prefer-default": (SCRAM, "", None, True, True),
    "prefer-falls-back-to-plain": ("role_plain_only", "sslmode=prefer", None, True, False),
    "require-no-verify": (SCRAM, "sslmode=require", None, True, True),
    "require-plain-only-role": ("role_plain_only", "sslmode=require", None, False, False),
    "require-rootcert": (SCRAM, "sslmode=require&sslrootcert={ca}", None, True, True),
    "require-wrong-rootcert": (SCRAM, "sslmode=require&sslrootcert={other}", None, False, False),
    "require-wrong-home-rootcert": (SCRAM, "sslmode=require", "other", False, False),
    "require-home-rootcert": (SCRAM, "sslmode=require", "ca", True, True),
    "verify-ca": (SCRAM, "sslmode=verify-ca&sslrootcert={ca}", None, True, True),
    "verify-full": (SCRAM, "sslmode=verify-full&sslrootcert={ca}", None, True, True),
    "verify-full-untrusted": (SCRAM, "sslmode=verify-full", None, False, False),
    "channel-binding-tls": (SCRAM, "sslmode=require&channel_binding=require", None, True, True),
    "channel-binding-plain": (SCRAM, "sslmode=disable&channel_binding=require", None, False, False),
}


@pytest.mark.parametrize("case", list(SSL_CASES))
def test_sslmode_means_what_it_means_to_libpq(
    project: Path, postgres: Postgres, database: str, other_ca: Path, *, tmp_path: Path, case: str
) -> None:
    role, query, home_root, connects, over_tls = SSL_CASES[case]
    server_ca = postgres.root / "server.crt"
    query = query.format(ca=server_ca, other=other_ca)
    home = tmp_path / "home"
    (home / ".postgresql").mkdir(parents=True)
    if home_root:
        shutil.copy(server_ca if home_root == "ca" else other_ca, home / ".postgresql/root.crt")
    postgres.psql(f"GRANT ALL ON DATABASE {database} TO {role}")
    postgres.psql(f"ALTER DATABASE {database} OWNER TO {role}")
    url = role_url(postgres, "scram-sha-256", database).replace(SCRAM, role)
    host = "localhost" if "verify-full" in query else "127.0.0.1"
    url = url.replace("127.0.0.1", host) + ("?" + query if query else "")
    log = postgres.root / "server.log"
    before = len(log.read_text(errors="replace"))
    started = time.monotonic()
    result = run_once(
        project,
        "go",
        [str(project / "server"), "migrate"],
        {"DATABASE_URL": url, "HOME": str(home)},
    )
    output = result.stdout + result.stderr
    assert (result.returncode == 0) == connects, output
    if not connects:
        assert time.monotonic() - started < 10, "waiting cannot fix TLS or auth: no retries"
        return
    authorized = [
        line
        for line in log.read_text(errors="replace")[before:].splitlines()
        if "connection authorized" in line and "-migrate" in line
    ]
    assert authorized, output
    assert all(("SSL enabled" in line) == over_tls for line in authorized), authorized


def test_verify_full_refuses_an_untrusted_certificate_in_readiness_too(
    start_service: Any, postgres: Postgres, redis_server: Redis, database: str
) -> None:
    url = role_url(postgres, "scram-sha-256", database) + "?sslmode=verify-full"
    service = start_service(redis_server.url, database_url=url)
    check = detailed_check(service, "postgres")
    assert check == {**check, "status": "error", "message": "TLS handshake failed"}


@pytest.mark.slow
@pytest.mark.parametrize("cache", choices("cache"))
@pytest.mark.parametrize("database", choices("database"))
def test_every_dependency_combination_verifies_vets_and_passes_its_tests(
    template_src: Path, tmp_path: Path, database: str, cache: str
) -> None:
    root = render(template_src, tmp_path / "svc", language="go", database=database, cache=cache)
    # install runs `go mod download` and `go mod verify` against the rendered go.sum.
    for step in ("install", "lint", "typecheck", "test"):
        run_step(root, "go", step)
    # go.mod and go.sum are exactly what `go mod tidy` would write: nothing missing or extra.
    tidy = run_once(root, "go", ["go", "mod", "tidy", "-diff"], {"GOFLAGS": "-mod=readonly"})
    assert tidy.returncode == 0, tidy.stdout + tidy.stderr
    requires = (root / "go.mod").read_text()
    assert ("jackc/pgx" in requires) == (database == "postgres")
    assert ("redis/go-redis" in requires) == (cache == "redis")
    packages = {path.parent.name for path in (root / "internal").rglob("*.go")}
    assert ("db" in packages) == (database == "postgres")
    assert ("migrate" in packages) == (database == "postgres")
    assert (root / "migrations").exists() == (database == "postgres")
    assert ("cache" in packages) == (cache == "redis")
    assert not {"pgwire", "resp"} & packages, "hand-written protocol code is gone"


def _ident(text: str) -> str:
    """An SQL identifier fragment from free text (scram-sha-256 -> scram_sha_256)."""
    return "".join(ch if ch.isalnum() else "_" for ch in text)
