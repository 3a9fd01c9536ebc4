"""Template layout: plain rendered paths, one `_exclude` table, output pinned by a snapshot."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import COPIER_YML, REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "tools"))
import render_snapshot

TEMPLATE = REPO_ROOT / "template"
SNAPSHOT = Path(__file__).parent / "snapshots" / "renders.json"
JINJA = re.compile(r"\{\{|\{%|\{#")
# The paths whose names come from an answer: Copier's answers file setting, and the
# health add-in of an existing app, at the place its layout gives it (health_addin_file;
# whether it is rendered at all is in the `_exclude` table).
ANSWER_NAMED = {"{{_copier_conf.answers_file}}.jinja", "{{ health_addin_file }}.jinja"}


def _settings() -> dict[str, Any]:
    return yaml.safe_load(COPIER_YML.read_text())


def _template_files() -> list[Path]:
    return sorted(path for path in TEMPLATE.rglob("*") if path.is_file())


def test_no_jinja_in_template_paths() -> None:
    named = [
        path.relative_to(TEMPLATE).as_posix()
        for path in _template_files()
        if JINJA.search(path.relative_to(TEMPLATE).as_posix())
    ]
    assert set(named) <= ANSWER_NAMED, f"conditions belong in copier.yml's _exclude: {named}"


def test_only_files_that_use_jinja_carry_the_suffix() -> None:
    needless = [
        path.relative_to(TEMPLATE).as_posix()
        for path in _template_files()
        if path.suffix == ".jinja" and not JINJA.search(path.read_text())
    ]
    assert not needless, f"no Jinja inside, drop the .jinja suffix: {needless}"


def _exclude_paths() -> list[str]:
    """Every path the `_exclude` table names, with its Jinja conditions stripped."""
    paths = []
    for entry in _settings()["_exclude"]:
        for line in re.sub(r"\{%.*?%\}", "\n", entry).splitlines():
            # A word may be an answer-named path: "/{{ health_addin_file }}".
            words = re.findall(r"(?:\{\{[^}]*\}\}|\S)+", line)
            paths.extend(word for word in words if word.startswith("/"))
    return paths


def test_exclude_table_names_real_template_paths() -> None:
    paths = _exclude_paths()
    assert paths, "copier.yml has no _exclude table"
    # A glob entry (existing apps keep one folder of /internal) must match something.
    stale = [
        path
        for path in paths
        if not (TEMPLATE / path[1:]).exists()
        and not (TEMPLATE / f"{path[1:]}.jinja").exists()
        and not ("*" in path and any(TEMPLATE.glob(path[1:])))
    ]
    assert not stale, f"_exclude names paths the template does not have: {stale}"


def test_min_copier_version_matches_the_dependency_floor() -> None:
    floor = _settings()["_min_copier_version"]
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    copier_dep = next(dep for dep in project["dependencies"] if dep.startswith("copier"))
    assert f">={floor}" in copier_dep, f"{copier_dep!r} does not start at {floor}"


def _snapshot() -> dict[str, dict[str, str]]:
    return json.loads(SNAPSHOT.read_text())


@pytest.mark.parametrize(
    "combo",
    render_snapshot.covering_combinations(),
    ids=render_snapshot.combo_id,
)
def test_render_matches_snapshot(combo: dict[str, str], template_src: Path) -> None:
    """Each covering combination renders exactly the recorded files and bytes.

    After a deliberate change to the output, refresh the snapshot:
    python tools/render_snapshot.py --write tests/snapshots/renders.json
    """
    expected = {render_snapshot.combo_id(combo): _snapshot()[render_snapshot.combo_id(combo)]}
    actual = {render_snapshot.combo_id(combo): render_snapshot.render_digest(template_src, combo)}
    assert render_snapshot.diff(expected, actual) == []


def test_covering_set_includes_every_choice() -> None:
    combos = render_snapshot.covering_combinations()
    every = list(render_snapshot.all_combinations())
    for key in render_snapshot.SHAPE_KEYS:
        wanted = {combo[key] for combo in every if key in combo}
        covered = {combo[key] for combo in combos if key in combo}
        assert covered == wanted, f"{key}: the snapshot never renders {wanted - covered}"


@pytest.mark.slow
def test_oldest_supported_copier_renders_the_same_files(tmp_path: Path, template_src: Path) -> None:
    """The floor in copier.yml is real: that Copier renders the `_exclude` table as today's does."""
    floor = _settings()["_min_copier_version"]
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", f"copier=={floor}"],
        check=True,
        timeout=600,
    )
    for combo in ({"language": "node"}, {"language": "go", "database": "postgres"}):
        old = tmp_path / "old" / "my-service"
        script = (
            "import copier, json, sys\n"
            "copier.run_copy(sys.argv[1], sys.argv[2], data=json.loads(sys.argv[3]),"
            " defaults=True, unsafe=True, quiet=True, overwrite=True)\n"
        )
        subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-c",
                script,
                str(template_src),
                str(old),
                json.dumps(combo),
            ],
            check=True,
            timeout=300,
        )
        old_files = {p.relative_to(old).as_posix() for p in old.rglob("*") if p.is_file()}
        assert old_files == set(render_snapshot.render_digest(template_src, combo))
        shutil.rmtree(old)
