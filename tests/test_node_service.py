"""Node-specific parts of the rendered service that the cross-language contract test does not cover.

Chiefly the lockfiles: every framework x database x cache renders a
package-lock.json that agrees with its package.json, and npm accepts it.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from helpers import REPO_ROOT, choices, frameworks, render
from service_runner import run_step, toolchain_path, which_in

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
