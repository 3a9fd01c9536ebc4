"""Fly.io output: fly.toml parses and carries the strategy, checks, migrations and VM size."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from delivery import (
    HEALTH,
    Renders,
    combo_id,
    migrate_command,
    plain_var_names,
    secret_var_names,
    strategies,
)
from helpers import choices, render

# One worker renders this module's projects once (scripts/test.sh runs --dist loadgroup).
pytestmark = pytest.mark.xdist_group("fly")

FLY_STRATEGIES = {"rolling": "rolling", "blue-green": "bluegreen", "canary": "canary"}
COMBOS: list[dict[str, Any]] = [
    {"language": language, "strategy": strategy}
    for strategy, _ in strategies("fly")
    for language in choices("language")
] + [
    {
        "language": "python",
        "framework": "django",
        "strategy": "canary",
        "memory_limit": "3Gi",
        "min_replicas": 3,
    },
    {
        "language": "go",
        "strategy": "rolling",
        "database": "none",
        "fly_region": "ams",
        "memory_limit": "300Mi",
    },
]


@pytest.fixture(scope="module")
def renders(template_src: Path, tmp_path_factory: pytest.TempPathFactory) -> Renders:
    return Renders(template_src, tmp_path_factory.mktemp("fly"))


def fly_toml(
    renders: Renders, combo: dict[str, Any]
) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """The rendered project, its answers and its parsed fly.toml."""
    answers = {"platform": "fly", "database": "postgres", "cache": "redis", **combo}
    project = renders(combo_id(combo), **answers)
    with (project / "fly.toml").open("rb") as handle:
        return project, answers, tomllib.load(handle)


@pytest.mark.parametrize("combo", COMBOS, ids=[combo_id(c) for c in COMBOS])
def test_fly_toml_follows_the_answers(renders: Renders, combo: dict[str, Any]) -> None:
    project, answers, config = fly_toml(renders, combo)
    assert config["app"] == project.name
    assert config["primary_region"] == answers.get("fly_region", "iad")
    assert config["build"] == {"dockerfile": "Dockerfile"}
    assert (project / config["build"]["dockerfile"]).is_file()
    assert config["deploy"]["strategy"] == FLY_STRATEGIES[answers["strategy"]]
    if answers["database"] == "postgres":
        assert config["deploy"]["release_command"].split() == migrate_command(answers)
    else:
        assert "release_command" not in config["deploy"]
    service = config["http_service"]
    assert (
        service["internal_port"] == {"node": 3000, "python": 8000, "go": 8080}[answers["language"]]
    )
    assert service["force_https"] is True
    assert service["min_machines_running"] == answers.get("min_replicas", 2)
    (check,) = service["checks"]
    assert check["path"] == HEALTH["paths"]["readiness"]
    assert check["method"] == "GET"
    assert check["interval"] == f"{HEALTH['probes']['readiness']['period']}s"
    assert check["timeout"] == f"{HEALTH['probes']['readiness']['timeout']}s"
    assert check["grace_period"].endswith("s")
    assert config["metrics"] == {
        "port": service["internal_port"],
        "path": HEALTH["paths"]["metrics"],
    }


@pytest.mark.parametrize("combo", COMBOS, ids=[combo_id(c) for c in COMBOS])
def test_fly_env_has_plain_settings_and_no_secrets(renders: Renders, combo: dict[str, Any]) -> None:
    project, answers, config = fly_toml(renders, combo)
    assert set(config["env"]) == plain_var_names(answers) - {"APP_VERSION"}
    assert all(isinstance(value, str) for value in config["env"].values())
    text = (project / "fly.toml").read_text()
    for name in secret_var_names(answers):
        assert name not in config["env"]
        assert f"fly secrets set --app {project.name} {name}=..." in text


@pytest.mark.parametrize(
    ("memory_limit", "memory", "size"),
    [
        ("128Mi", "256mb", "shared-cpu-1x"),
        ("256Mi", "256mb", "shared-cpu-1x"),
        ("300Mi", "512mb", "shared-cpu-1x"),
        ("2Gi", "2048mb", "shared-cpu-1x"),
        ("3Gi", "3072mb", "shared-cpu-2x"),
    ],
)
def test_vm_size_covers_the_memory_limit(
    template_src: Path, tmp_path: Path, memory_limit: str, memory: str, size: str
) -> None:
    project = render(
        template_src,
        tmp_path / "svc",
        platform="fly",
        memory_limit=memory_limit,
        memory_request="128Mi",
    )
    with (project / "fly.toml").open("rb") as handle:
        (vm,) = tomllib.load(handle)["vm"]
    assert vm == {"size": size, "memory": memory}


def test_only_fly_renders_fly_toml(renders: Renders) -> None:
    for platform in set(choices("platform")) - {"fly"}:
        project = renders(f"not-fly-{platform}", platform=platform)
        assert not (project / "fly.toml").exists()
