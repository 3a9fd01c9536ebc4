"""Node-specific parts of the rendered service that the cross-language contract test does not cover.

Chiefly the lockfiles: every framework x database x cache renders a
package-lock.json that agrees with its package.json, and npm accepts it. And
DATABASE_URL's sslmode, against a real TLS-enabled PostgreSQL: the service
must connect the way libpq (psql, the Python stacks) would with the same URL.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from helpers import REPO_ROOT, choices, frameworks, render, require_tool
from servers import Postgres
from service_runner import NODE_MAJOR, run_once, run_step, toolchain_path, which_in

NODE_STACKS = list(itertools.product(frameworks("node"), choices("database"), choices("cache")))
LOCK_DATA = REPO_ROOT / "includes" / "node" / "lockfiles.json"


@pytest.fixture(scope="module", params=NODE_STACKS, ids=["-".join(stack) for stack in NODE_STACKS])
def project(
    request: pytest.FixtureRequest, template_src: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str]]:
    framework, database, cache = request.param
    answers = {"language": "node", "framework": framework, "database": database, "cache": cache}
    dst = tmp_path_factory.mktemp("node") / "orders-api"
    return render(template_src, dst, service_name="orders-api", **answers), answers


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def refresh_tool() -> ModuleType:
    """tools/refresh_node_lockfiles.py, imported by path (tools/ is not a package)."""
    path = REPO_ROOT / "tools" / "refresh_node_lockfiles.py"
    spec = importlib.util.spec_from_file_location("refresh_node_lockfiles", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lockfile_is_the_one_npm_wrote(project: tuple[Path, dict[str, str]]) -> None:
    # The refresh tool checked that its rebuild equals npm's own output byte for
    # byte; the template must render exactly that (with the service's name).
    root, answers = project
    tool = refresh_tool()
    expected = tool.rebuild(read_json(LOCK_DATA), tool.key(answers))
    expected = expected.replace(f'"name": "{tool.PLACEHOLDER}"', '"name": "orders-api"')
    assert (root / "package-lock.json").read_text() == expected


def test_lockfile_root_matches_package_json(project: tuple[Path, dict[str, str]]) -> None:
    root, _ = project
    package = read_json(root / "package.json")
    lock = read_json(root / "package-lock.json")
    assert lock["lockfileVersion"] == 3
    assert lock["name"] == package["name"] == "orders-api"
    entry = lock["packages"][""]
    assert entry["name"] == "orders-api"
    for field in ("version", "dependencies", "devDependencies", "engines"):
        assert entry.get(field) == package.get(field), field


def test_lockfile_installs_the_pinned_versions(project: tuple[Path, dict[str, str]]) -> None:
    root, _ = project
    package = read_json(root / "package.json")
    packages = read_json(root / "package-lock.json")["packages"]
    for section, dev in (("dependencies", False), ("devDependencies", True)):
        for name, version in package[section].items():
            installed = packages[f"node_modules/{name}"]
            # Versions are pinned exactly, so package.json is their one source.
            assert installed["version"] == version, name
            assert installed.get("dev", False) == dev, name
    for path, entry in packages.items():
        if path and not entry.get("link"):
            assert entry["resolved"].startswith("https://registry.npmjs.org/"), path
            assert entry["integrity"].startswith("sha512-"), path


def test_dependencies_follow_the_answers(project: tuple[Path, dict[str, str]]) -> None:
    root, answers = project
    runtime = read_json(root / "package.json")["dependencies"]
    assert ("express" in runtime) == (answers["framework"] == "express")
    assert ("fastify" in runtime) == (answers["framework"] == "fastify")
    assert ("pg" in runtime) == (answers["database"] == "postgres")
    assert ("redis" in runtime) == (answers["cache"] == "redis")
    postgres = answers["database"] == "postgres"
    assert (root / "src" / "migrate.js").exists() is False
    assert (root / "src" / "migrate.ts").is_file() == postgres
    assert sorted(p.name for p in (root / "migrations").glob("*.sql")) == (
        ["0001_init.sql"] if postgres else []
    )
    source = (root / "src" / "dependencies.ts").read_text()
    assert ("registerCheck('postgres'" in source) == postgres
    assert ("registerCheck('redis'" in source) == (answers["cache"] == "redis")


def test_npm_ci_accepts_the_lockfile(project: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root, _ = project
    npm = which_in(root, "node", "npm")
    assert npm is not None
    # Offline with an empty cache: npm can only succeed if the lockfile already
    # holds the whole tree in sync with package.json (any mismatch needs the registry).
    result = subprocess.run(
        [
            npm,
            "ci",
            "--dry-run",
            "--offline",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--cache",
            str(tmp_path / "npm-cache"),
        ],
        cwd=root,
        env={**os.environ, "PATH": toolchain_path(root, "node")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_stored_lockfiles_cover_every_stack() -> None:
    stored = read_json(LOCK_DATA)["lockfiles"]
    assert sorted(stored) == sorted("-".join(stack) for stack in NODE_STACKS), (
        "run tools/refresh_node_lockfiles.py after changing copier.yml's choices"
    )


@pytest.mark.slow
@pytest.mark.parametrize("framework", frameworks("node"))
def test_minimal_stack_passes_its_own_checks(
    template_src: Path, tmp_path: Path, framework: str
) -> None:
    # The contract test covers the full stack; without dependencies the
    # generated code differs (no clients, unused parameters), so lint, type
    # check, test and build it too.
    project = render(template_src, tmp_path / "svc", language="node", framework=framework)
    for step in ("install", "lint", "typecheck", "test", "build"):
        run_step(project, "node", step)
    assert (project / "dist" / "server.js").is_file()
    assert (project / "dist" / "healthcheck.js").is_file()
    assert not (project / "dist" / "migrate.js").exists()


# --- sslmode against a real PostgreSQL ----------------------------------------------------------

ROLE_PASSWORD = "role-Secret-5a4b3c2d"
# Who may connect how (pg_hba.conf, first match wins): any transport, TLS only, plain only.
HBA_RULES = {
    "role_any": ["host all role_any 127.0.0.1/32 scram-sha-256"],
    "role_tls": [
        "hostssl all role_tls 127.0.0.1/32 scram-sha-256",
        "host all role_tls 127.0.0.1/32 reject",
    ],
    "role_plain": [
        "hostnossl all role_plain 127.0.0.1/32 scram-sha-256",
        "host all role_plain 127.0.0.1/32 reject",
    ],
}


def self_signed(openssl: str, directory: Path, name: str) -> tuple[Path, Path]:
    """A certificate for the name localhost only (not 127.0.0.1) and its key."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        [openssl, "req", "-new", "-x509", "-days", "2", "-nodes", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="module")
def tls_postgres() -> Iterator[Postgres]:
    """A TLS-enabled cluster with a role per pg_hba rule of HBA_RULES, logging connections."""
    openssl = require_tool("openssl")
    server = Postgres().init()
    cert, key = self_signed(openssl, server.root, "server")
    self_signed(openssl, server.root, "stranger")  # an authority the server's cert is not from
    key.chmod(0o600)
    if os.geteuid() == 0:
        shutil.chown(cert, "postgres")
        shutil.chown(key, "postgres")
    for setting, value in (("ssl_cert_file", cert), ("ssl_key_file", key), ("ssl", "on")):
        server.psql(f"ALTER SYSTEM SET {setting} = '{value}'")
    server.psql("ALTER SYSTEM SET log_connections = on")
    hba = server.root / "data" / "pg_hba.conf"
    rules = [line for lines in HBA_RULES.values() for line in lines]
    hba.write_text("\n".join(rules) + "\n" + hba.read_text())
    for role in HBA_RULES:
        server.psql(f"CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{ROLE_PASSWORD}'")
    server.psql("SELECT pg_reload_conf()")
    yield server
    server.destroy()


@pytest.fixture(scope="module")
def migrator(template_src: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Node service with PostgreSQL, built: `node dist/migrate.js` connects as DATABASE_URL says."""
    root = render(
        template_src,
        tmp_path_factory.mktemp("node-tls") / "svc",
        language="node",
        framework="express",
        database="postgres",
    )
    for step in ("install", "build"):
        run_step(root, "node", step)
    return root


SSLMODE_CASES = [
    # (role, host, query, expected): expected is "tls", "plain" or an error the output names.
    ("role_any", "127.0.0.1", "sslmode=disable", "plain"),
    ("role_tls", "127.0.0.1", "sslmode=disable", "error"),
    ("role_any", "127.0.0.1", "sslmode=allow", "plain"),
    ("role_tls", "127.0.0.1", "sslmode=allow", "tls"),  # plain turned down: TLS next
    ("role_any", "127.0.0.1", "sslmode=prefer", "tls"),
    ("role_plain", "127.0.0.1", "sslmode=prefer", "plain"),  # TLS turned down: plain next
    ("role_any", "127.0.0.1", "", "tls"),  # no sslmode is prefer
    ("role_any", "127.0.0.1", "sslmode=require", "tls"),  # self-signed: not verified
    ("role_any", "127.0.0.1", "sslmode=require&sslrootcert={root}/stranger.crt", "error"),
    ("role_any", "127.0.0.1", "sslmode=verify-ca&sslrootcert={root}/server.crt", "tls"),
    ("role_any", "127.0.0.1", "sslmode=verify-full&sslrootcert={root}/server.crt", "error"),
    ("role_any", "localhost", "sslmode=verify-full&sslrootcert={root}/server.crt", "tls"),
    ("role_any", "127.0.0.1", "sslmode=verify-full", "needs a root certificate"),
]


@pytest.mark.parametrize(
    "case",
    SSLMODE_CASES,
    ids=[f"{c[0]}-{c[1]}-{c[2].split('&')[0] or 'no-sslmode'}-{c[3]}" for c in SSLMODE_CASES],
)
def test_sslmode_means_what_it_means_to_libpq(
    migrator: Path, tls_postgres: Postgres, tmp_path: Path, case: tuple[str, str, str, str]
) -> None:
    role, host, query, expected = case
    log = tls_postgres.root / "server.log"
    before = len(log.read_text(errors="replace"))
    app_name = "sslmode-" + uuid.uuid4().hex[:8]
    params = "&".join(
        part
        for part in (query.format(root=tls_postgres.root), f"application_name={app_name}")
        if part
    )
    url = f"postgres://{role}:{ROLE_PASSWORD}@{host}:{tls_postgres.port}/postgres?{params}"
    # An empty home: no ~/.postgresql/root.crt turns require into verify-ca by accident.
    env = {"DATABASE_URL": url, "LOG_LEVEL": "info", "HOME": str(tmp_path)}
    result = run_once(migrator, "node", ["node", "dist/migrate.js"], env)
    output = result.stdout + result.stderr
    assert ROLE_PASSWORD not in output
    if expected not in ("tls", "plain"):
        assert result.returncode != 0, output
        if expected != "error":
            assert expected in output, output
        return
    assert result.returncode == 0, output
    authorized = [
        line
        for line in log.read_text(errors="replace")[before:].splitlines()
        if "connection authorized" in line and app_name in line
    ]
    assert authorized, log.read_text(errors="replace")[before:][-2000:]
    encrypted = {"SSL enabled" in line for line in authorized}
    assert encrypted == {expected == "tls"}, authorized


def test_one_node_major_everywhere(project: tuple[Path, dict[str, str]]) -> None:
    # The image, `engines`, the Node type definitions, the rendered CI and this
    # repo's tests all run the one major includes/versions.jinja names.
    root, _ = project
    assert NODE_MAJOR is not None
    major = NODE_MAJOR[1]
    package = read_json(root / "package.json")
    assert package["engines"]["node"] == f">={major}"
    assert package["devDependencies"]["@types/node"].split(".")[0] == major
    sources = re.findall(r"^FROM (\S+)", (root / "Dockerfile").read_text(), flags=re.MULTILINE)
    images = [source for source in sources if ":" in source]  # the rest are earlier stages
    assert images and all(image.startswith(f"node:{major}.") for image in images), images
    ci = yaml.safe_load((root / ".github" / "workflows" / "ci.yml").read_text())
    setup = [
        step["with"]["node-version"]
        for job in ci["jobs"].values()
        for step in job["steps"]
        if "setup-node" in step.get("uses", "")
    ]
    assert setup == [major], setup
    node = which_in(root, "node", "node")
    assert node is not None
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith(f"v{major}."), "the tests must run the image's major"
