"""Python services: one consistent set of pins, and every answer combination renders clean code.

The cross-language contract test installs and runs each framework's full stack;
these checks cover what it does not: the pin data itself, every database/cache
combination (not only the full stack), and that the pins resolve on PyPI.
"""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers import REPO_ROOT, choices, frameworks, render, require_tool

PYTHON_INCLUDES = REPO_ROOT / "includes" / "python"
PACKAGES = yaml.safe_load((PYTHON_INCLUDES / "packages.yml").read_text())
PINS = yaml.safe_load((PYTHON_INCLUDES / "pins.yml").read_text())
PIN_LINE = re.compile(
    r"^(?P<name>[a-z0-9][a-z0-9._-]*)==(?P<version>[^\s;]+)(?: ; (?P<marker>.+))?$"
)
LONGEST_NAME = "a-service-name-as-long-as-a-dns-label-may-be-sixty-three-chars9"
COMBINATIONS = list(itertools.product(frameworks("python"), choices("database"), choices("cache")))


def _top_level(group: str | None = None) -> list[dict[str, object]]:
    groups = [group] if group else ["runtime", "dev"]
    return [entry for name in groups for entry in PACKAGES[name]]


def _pins(path: Path) -> dict[str, str]:
    """name -> version of a rendered requirements file (asserting every line is an exact pin)."""
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if not line or line.startswith("#") or line == "-r requirements.txt":
            continue
        match = PIN_LINE.match(line)
        assert match, f"{path.name}: not an exact pin: {line!r}"
        assert match["name"] not in found, f"{path.name}: {match['name']} listed twice"
        found[match["name"]] = match["version"]
    return found


def test_every_top_level_package_has_a_recorded_closure() -> None:
    names = [str(entry["name"]) for entry in _top_level()]
    assert len(names) == len(set(names)), "a package is listed twice in packages.yml"
    assert set(PINS["closures"]) == set(names), (
        "pins.yml is stale: run tools/refresh_python_pins.py"
    )
    for name in names:
        assert name in PINS["closures"][name], f"{name}'s closure leaves out {name} itself"


def test_closures_use_only_the_shared_versions() -> None:
    used = {member for members in PINS["closures"].values() for member in members}
    assert used == set(PINS["versions"]), "versions and closures of pins.yml disagree"
    assert set(PINS["markers"]) <= used


@pytest.mark.parametrize(("framework", "database", "cache"), COMBINATIONS)
def test_requirements_are_the_selected_closures_exactly_pinned(
    template_src: Path, tmp_path: Path, framework: str, database: str, cache: str
) -> None:
    project = render(
        template_src,
        tmp_path / "svc",
        language="python",
        framework=framework,
        database=database,
        cache=cache,
    )
    runtime = _pins(project / "requirements.txt")
    dev = _pins(project / "requirements-dev.txt")
    assert (project / "requirements-dev.txt").read_text().count("-r requirements.txt") == 1
    assert not set(runtime) & set(dev), "requirements-dev.txt repeats runtime pins"
    answers = {"framework": framework, "database": database, "cache": cache}
    for group, pinned in (("runtime", runtime), ("dev", {**runtime, **dev})):
        expected: set[str] = set()
        for entry in _top_level(group):
            when = entry.get("when") or {}
            assert isinstance(when, dict)
            if all(answers[key] in allowed for key, allowed in when.items()):
                expected.update(PINS["closures"][entry["name"]])
        if group == "dev":
            expected |= set(runtime)
        assert set(pinned) == expected
        for name, version in pinned.items():
            assert version == PINS["versions"][name]
    # What the answers leave out is not installed.
    assert ("psycopg" in runtime) == (database == "postgres")
    assert ("redis" in runtime) == (cache == "redis")
    for other in frameworks("python"):
        assert (other in runtime) == (other == framework)


@pytest.mark.parametrize(("framework", "database", "cache"), COMBINATIONS)
def test_every_combination_renders_lint_clean_python(
    template_src: Path, tmp_path: Path, framework: str, database: str, cache: str
) -> None:
    ruff = require_tool("ruff")
    project = render(
        template_src,
        tmp_path / "svc",
        language="python",
        framework=framework,
        database=database,
        cache=cache,
        # The longest name and an awkward description must not break lines or strings.
        service_name=LONGEST_NAME,
        k8s_namespace="svc",
        description='Says "hello" \\ to C:\\ and """ more; ' * 4,
    )
    sources = sorted(project.rglob("*.py"))
    for source in sources:
        compile(source.read_text(), str(source), "exec")
    names = {path.relative_to(project).as_posix() for path in sources}
    assert ("app/migrate.py" in names) == (database == "postgres" and framework != "django")
    assert ("manage.py" in names) == (framework == "django")
    django_migration = "app/migrations/0001_initial.py" in names
    assert django_migration == (framework == "django" and database == "postgres")
    assert any((project / "migrations").glob("0001_*.sql")) == ("app/migrate.py" in names)
    for command in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        result = subprocess.run(
            [ruff, *command], cwd=project, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("framework", frameworks("python"))
def test_dockerfile_copies_what_the_layout_needs(
    template_src: Path, tmp_path: Path, framework: str
) -> None:
    hadolint = require_tool("hadolint")
    project = render(
        template_src,
        tmp_path / "svc",
        language="python",
        framework=framework,
        database="postgres",
        cache="redis",
    )
    dockerfile = (project / "Dockerfile").read_text()
    assert ("COPY migrations ./migrations" in dockerfile) == (framework != "django")
    assert ("collectstatic" in dockerfile) == (framework == "django")
    for copied in re.findall(r"^COPY (?!--from)(\S+)", dockerfile, flags=re.MULTILINE):
        assert (project / copied).exists(), f"the Dockerfile copies {copied}, which is not rendered"
    result = subprocess.run(
        [hadolint, "-t", "warning", "-"],
        input=dockerfile,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_the_shared_resolution_installs_together(tmp_path: Path) -> None:
    # Every pin of pins.yml at once: pip's resolver rejects any that contradicts a
    # package's own requirements, so each service's subset (a union of closures) is sound.
    lines = [
        f"{name}=={version}" + (f" ; {PINS['markers'][name]}" if name in PINS["markers"] else "")
        for name, version in PINS["versions"].items()
    ]
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("\n".join(lines) + "\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--disable-pip-version-check",
            "--requirement",
            str(requirements),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
