"""Python services and PostgreSQL: failed migrations say what failed, and sslmode is libpq's.

Against a real PostgreSQL with SCRAM and TLS: the migrate command of a FastAPI
or Flask service names the failing file and the server's error, and the URL's
sslmode means in the process's pool exactly what it means to libpq (documented
under DATABASE_URL in includes/env-spec.yml), since psycopg runs libpq itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import render, require_tool
from servers import PG_PASSWORD, Postgres
from service_runner import run_once

# What the service's pool makes of a URL: its last line is "tls" or "plain" when a
# connection was made, else "error"; the pool's log lines before it carry libpq's
# reason (which names the failed verification, never the password).
POOL_PROBE = """
import logging, sys
from app.db import open_pool
logging.basicConfig(stream=sys.stdout, format="%(message)s", level=logging.WARNING)
pool = open_pool(sys.argv[1])
try:
    with pool.connection(timeout=3) as conn:
        print("tls" if conn.pgconn.ssl_in_use else "plain")
except Exception:
    print("error")
finally:
    pool.close()
"""
REFUSED = "certificate verify failed"


@pytest.fixture(scope="module")
def project(template_src: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Flask service with Postgres, its runtime requirements installed."""
    project = render(
        template_src,
        tmp_path_factory.mktemp("pg") / "svc",
        language="python",
        framework="flask",
        database="postgres",
        cache="none",
    )
    venv = project / ".venv"
    subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--requirement", "requirements.txt"], cwd=project, check=True)
    return project


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    """A SCRAM-authenticating server that also accepts TLS, with a certificate for localhost."""
    openssl = require_tool("openssl")
    server = Postgres().init()
    certs = server.root / "certs"
    certs.mkdir()
    for name in ("ca", "other-ca"):
        subject = ("-subj", f"/CN=prodready test {name}")
        _openssl(openssl, certs, "req", "-x509", "-newkey", "rsa:2048", "-nodes", *subject)
        (certs / "cert.pem").rename(certs / f"{name}.crt")
        (certs / "key.pem").rename(certs / f"{name}.key")
    _openssl(
        openssl, certs, "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost"
    )
    _openssl(
        openssl, certs, "x509", "-req", "-in", "request.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-out", "server.crt",
    )  # fmt: skip
    (certs / "key.pem").rename(certs / "server.key")
    if os.geteuid() == 0:
        for path in [certs, *certs.iterdir()]:
            shutil.chown(path, "postgres")
    (certs / "server.key").chmod(0o600)
    server.psql(f"ALTER SYSTEM SET ssl_cert_file = '{certs / 'server.crt'}'")
    server.psql(f"ALTER SYSTEM SET ssl_key_file = '{certs / 'server.key'}'")
    server.psql("ALTER SYSTEM SET ssl = on")
    server.psql("SELECT pg_reload_conf()")
    yield server
    server.destroy()


def _openssl(openssl: str, cwd: Path, *args: str) -> None:
    """Run an openssl command in cwd; keys, requests and certificates get fixed file names."""
    extra: list[str] = []
    if args[0] == "req":
        extra = ["-keyout", "key.pem", "-out", "request.csr" if "-new" in args else "cert.pem"]
    subprocess.run([openssl, *args, *extra], cwd=cwd, check=True, capture_output=True)


def _migrate(project: Path, url: str) -> tuple[int, list[dict[str, object]], str]:
    """Run the migrate command with DATABASE_URL only: exit code, JSON log lines, raw output."""
    result = run_once(project, "python", ["python", "-m", "app.migrate"], {"DATABASE_URL": url})
    output = result.stdout + result.stderr
    lines = []
    for line in output.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return result.returncode, lines, output


def _url(postgres: Postgres, query: str = "", password: str = PG_PASSWORD) -> str:
    base = f"postgres://postgres:{password}@localhost:{postgres.port}/postgres"
    return f"{base}?{query}" if query else base


def test_a_failed_migration_names_the_file_and_the_error(project: Path, postgres: Postgres) -> None:
    code, _, output = _migrate(project, _url(postgres))
    assert code == 0, output
    broken = project / "migrations" / "0002_broken.sql"
    broken.write_text("CREATE TABLE widgets (id bigint PRIMARY KEY);\nCREAT INDEX oops;\n")
    try:
        code, lines, output = _migrate(project, _url(postgres))
    finally:
        broken.unlink()
    assert code == 1, output
    failures = [line for line in lines if line.get("msg") == "migration failed"]
    assert len(failures) == 1, output
    failure = failures[0]
    assert failure["file"] == "migrations/0002_broken.sql"
    assert failure["sqlstate"] == "42601"
    assert 'syntax error at or near "CREAT"' in str(failure["message"])
    assert "Traceback" not in output
    assert PG_PASSWORD not in output
    # The file ran in one transaction: nothing of it stayed.
    assert postgres.psql("SELECT to_regclass('widgets') IS NULL").strip() == "t"


def test_a_refused_login_is_named_without_the_password(project: Path, postgres: Postgres) -> None:
    code, lines, output = _migrate(project, _url(postgres, password="wrong-Password-123"))
    assert code == 1, output
    failure = next(line for line in lines if line.get("msg") == "migration failed")
    assert "password authentication failed" in str(failure["message"])
    assert "wrong-Password-123" not in output
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("query", "outcome"),
    [
        # libpq: require encrypts without verifying the certificate...
        ("sslmode=require", "tls"),
        # ...unless a root certificate is given: then it verifies like verify-ca.
        ("sslmode=require&sslrootcert={certs}/other-ca.crt", REFUSED),
        ("sslmode=require&sslrootcert={certs}/ca.crt", "tls"),
        ("sslmode=verify-full&sslrootcert={certs}/ca.crt", "tls"),
        ("sslmode=verify-full&sslrootcert={certs}/other-ca.crt", REFUSED),
        # verify-full with no root certificate at all refuses to connect.
        ("sslmode=verify-full", "root certificate file"),
        ("sslmode=disable", "plain"),
        ("sslmode=prefer", "tls"),
    ],
)
def test_sslmode_means_what_it_means_to_libpq(
    project: Path, postgres: Postgres, query: str, outcome: str, tmp_path: Path
) -> None:
    url = _url(postgres, query.format(certs=postgres.root / "certs"))
    # No ~/.postgresql/root.crt: libpq would read it and verify even with require.
    env = {"DATABASE_URL": url, "HOME": str(tmp_path)}
    argv = ["python", "-c", POOL_PROBE, url]
    result = run_once(project, "python", argv, env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    if outcome in {"tls", "plain"}:
        assert lines[-1] == outcome, result.stdout + result.stderr
    else:
        assert lines[-1] == "error", result.stdout
        assert outcome in result.stdout, result.stdout
    assert PG_PASSWORD not in result.stdout + result.stderr
