"""Docker Compose output: valid against the compose spec, hardened, wired to database and cache."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from delivery import HEALTH, Renders, combo_id, dockerfile_uid, migrate_command, secret_var_names
from helpers import choices, render, require_tool

# One worker renders this module's projects once (scripts/test.sh runs --dist loadgroup).
pytestmark = pytest.mark.xdist_group("compose")

COMBOS: list[dict[str, Any]] = [
    {"language": language, "database": database, "cache": cache}
    for language in choices("language")
    for database, cache in (("postgres", "redis"), ("none", "none"))
] + [
    {
        "language": "python",
        "framework": "django",
        "database": "postgres",
        "cache": "none",
        "cpu_limit": "750m",
    }
]
IDS = [combo_id(c) for c in COMBOS]
HEALTHCHECKS = {
    "node": ["CMD", "node", "dist/healthcheck.js"],
    "python": ["CMD", "python", "-m", "app.healthcheck"],
    "go": ["CMD", "/server", "healthcheck"],
}


@pytest.fixture(scope="module")
def projects(
    template_src: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Every combination rendered once (the schema check wants them all in one batch)."""
    renders = Renders(template_src, tmp_path_factory.mktemp("compose"))
    return {
        combo_id(combo): (renders(combo_id(combo), **{"platform": "compose", **combo}), combo)
        for combo in COMBOS
    }


def load(project: Path, name: str = "compose.yaml") -> dict[str, Any]:
    """A compose file as data (YAML anchors and merge keys resolved)."""
    return yaml.safe_load((project / name).read_text())


def test_compose_files_match_the_compose_spec(
    projects: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    check_jsonschema = require_tool("check-jsonschema")
    files = [
        str(project / name)
        for project, _ in projects.values()
        for name in ("compose.yaml", "compose.production.yaml")
    ]
    result = subprocess.run(
        [check_jsonschema, "--builtin-schema", "vendor.compose-spec", *files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    yamllint = require_tool("yamllint")
    config = "{extends: default, rules: {line-length: {max: 160}, document-start: disable}}"
    linted = subprocess.run(
        [yamllint, "--strict", "-d", config, *files], capture_output=True, text=True, check=False
    )
    assert linted.returncode == 0, linted.stdout


@pytest.mark.parametrize("combo_key", IDS)
def test_app_service_is_pinned_hardened_and_healthchecked(
    projects: dict[str, tuple[Path, dict[str, Any]]], combo_key: str
) -> None:
    project, combo = projects[combo_key]
    app = load(project)["services"]["app"]
    assert app["image"] == f"ghcr.io/my-org/{project.name}:${{IMAGE_TAG:-dev}}"
    production = load(project, "compose.production.yaml")["services"]["app"]
    assert production["image"].startswith(f"ghcr.io/my-org/{project.name}:${{IMAGE_TAG:?")
    assert production["pull_policy"] == "always"
    assert production["restart"] == "always"
    assert app["restart"] == "unless-stopped"
    uid = dockerfile_uid(project)
    assert app["user"] == f"{uid}:{uid}"
    assert app["read_only"] is True
    assert any(mount.split(":")[0] == "/tmp" for mount in app["tmpfs"])
    assert "no-new-privileges:true" in app["security_opt"]
    assert app["cap_drop"] == ["ALL"]
    limits = app["deploy"]["resources"]["limits"]
    assert limits["memory"] == "256M"
    if "cpu_limit" in combo:
        assert limits["cpus"] == "0.75"
    else:
        assert "cpus" not in limits
    check = app["healthcheck"]
    assert check["test"] == HEALTHCHECKS[combo["language"]]
    assert check["interval"] == f"{HEALTH['probes']['readiness']['period']}s"
    port = {"node": 3000, "python": 8000, "go": 8080}[combo["language"]]
    assert app["ports"] == [f"${{APP_BIND:-127.0.0.1}}:${{APP_HOST_PORT:-{port}}}:{port}"]
    assert app["environment"]["PORT"] == str(port)


@pytest.mark.parametrize("combo_key", IDS)
def test_dependencies_have_healthchecks_volumes_and_start_order(
    projects: dict[str, tuple[Path, dict[str, Any]]], combo_key: str
) -> None:
    project, combo = projects[combo_key]
    compose = load(project)
    services = compose["services"]
    app = services["app"]
    expected = {"app"}
    if combo["database"] == "postgres":
        expected |= {"postgres", "migrate"}
        postgres = services["postgres"]
        assert postgres["image"].startswith("postgres:") and ":latest" not in postgres["image"]
        assert postgres["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
        # Postgres 18+ images refuse a mount at the old .../data path; the parent holds every major.
        assert postgres["volumes"] == ["postgres-data:/var/lib/postgresql"]
        assert postgres["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
        assert app["depends_on"]["postgres"] == {"condition": "service_healthy"}
        assert app["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        migrate = services["migrate"]
        assert migrate["command"] == migrate_command(combo)
        assert migrate["image"] == app["image"]
        assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
        assert migrate["restart"] == "no"
        assert migrate["read_only"] is True
        assert "postgres-data" in compose["volumes"]
    if combo["cache"] == "redis":
        expected.add("redis")
        redis = services["redis"]
        assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
        assert redis["volumes"] == ["redis-data:/data"]
        assert app["depends_on"]["redis"] == {"condition": "service_healthy"}
        assert "redis-data" in compose["volumes"]
    assert set(services) == expected
    if expected == {"app"}:
        assert "depends_on" not in app
        assert "volumes" not in compose
    production = load(project, "compose.production.yaml")["services"]
    assert set(production) == expected


@pytest.mark.parametrize("combo_key", IDS)
def test_secrets_come_from_the_environment_never_the_file(
    projects: dict[str, tuple[Path, dict[str, Any]]], combo_key: str
) -> None:
    project, combo = projects[combo_key]
    environment = load(project)["services"]["app"]["environment"]
    for name, required in secret_var_names({"platform": "compose", **combo}).items():
        value = environment.get(name)
        if name in {"DATABASE_URL", "REDIS_URL"}:
            assert "${" not in value or "${POSTGRES_PASSWORD:?" in value, value
        elif required:
            assert value == f"${{{name}:?set {name}}}"
        else:
            assert value is None, f"optional secret {name} comes from .env only"


def test_compose_rejects_other_strategies_at_the_prompt(template_src: Path, tmp_path: Path) -> None:
    for strategy in set(choices("strategy")) - {"rolling"}:
        with pytest.raises(ValueError, match="platform 'compose' supports strategy: rolling"):
            render(template_src, tmp_path / strategy, platform="compose", strategy=strategy)
