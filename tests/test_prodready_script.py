"""scripts/prodready.sh: the rendered CI runs the prodready release the project records.

The pipelines used to `pip install prodready==0.1.0` from the package index, where no
such release exists, so every readiness job failed. The script installs from the
template repository and release in .copier-answers.yml instead; here pip and prodready
are stubs that record what they were asked to do.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from docs_helpers import Renders

STUB = """#!/usr/bin/env bash
printf '%s\\n' "$*" >> "{log}"
"""


def run(project: Path, tmp_path: Path, *args: str, **env: str) -> tuple[int, str, list[str]]:
    """Run the project's script with stub python3 and prodready; (status, stderr, calls)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "calls.log"
    log.write_text("")
    for name in ("python3", "prodready"):
        stub = bin_dir / name
        stub.write_text(STUB.format(log=log).replace("printf '%s", f"printf '{name} %s"))
        stub.chmod(0o755)
    done = subprocess.run(
        [str(project / "scripts/prodready.sh"), *args],
        cwd=project,
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", **env},
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode, done.stderr, log.read_text().splitlines()


@pytest.fixture
def project(renders: Renders, tmp_path: Path) -> Path:
    dst = tmp_path / "project"
    shutil.copytree(renders.get(ci="github"), dst, symlinks=True)
    return dst


def record(project: Path, src: str, commit: str) -> None:
    answers = project / ".copier-answers.yml"
    lines = [
        line
        for line in answers.read_text().splitlines()
        if not line.startswith(("_src_path:", "_commit:"))
    ]
    answers.write_text("\n".join([f"_commit: {commit}", f"_src_path: {src}", *lines]) + "\n")


def test_installs_the_recorded_release_from_the_recorded_repository(
    project: Path, tmp_path: Path
) -> None:
    record(project, "https://example.org/acme/prodready.git", "v0.2.0")
    status, _, calls = run(project, tmp_path, "check", "--format", "sarif")
    assert status == 0
    pip = "python3 -m pip install --quiet --disable-pip-version-check"
    assert calls == [
        f"{pip} prodready @ git+https://example.org/acme/prodready.git@v0.2.0",
        "prodready check --format sarif",
    ]


def test_an_unreleased_commit_installs_that_commit(project: Path, tmp_path: Path) -> None:
    record(project, "https://example.org/acme/prodready.git", "v0.2.0-4-g1a2b3c4d")
    _, _, calls = run(project, tmp_path, "check")
    assert calls[0].endswith("prodready @ git+https://example.org/acme/prodready.git@1a2b3c4d")


def test_an_empty_ref_installs_the_default_branch(project: Path, tmp_path: Path) -> None:
    record(project, "https://example.org/acme/prodready.git", "v0.2.0")
    _, _, calls = run(project, tmp_path, "update", PRODREADY_REF="")
    assert calls[0].endswith("prodready @ git+https://example.org/acme/prodready.git")


def test_a_path_on_one_machine_is_refused_in_one_line(project: Path, tmp_path: Path) -> None:
    record(project, "/home/someone/prodready", "v0.2.0")
    status, err, calls = run(project, tmp_path, "check")
    assert status == 2
    assert calls == []
    assert err.strip().count("\n") == 0
    assert "'/home/someone/prodready' is not a repository URL" in err


def test_spec_none_uses_the_prodready_on_path(project: Path, tmp_path: Path) -> None:
    status, _, calls = run(project, tmp_path, "check", PRODREADY_SPEC="none")
    assert status == 0
    assert calls == ["prodready check"]


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_pipelines_run_check_through_the_script_never_a_package_index_pin(
    renders: Renders, ci: str
) -> None:
    project = renders.get(ci=ci)
    pipeline = (
        project / ".github/workflows/ci.yml" if ci == "github" else project / ".gitlab-ci.yml"
    ).read_text()
    assert "scripts/prodready.sh check --format sarif > prodready-check.sarif" in pipeline
    assert "prodready==" not in pipeline
    assert (project / "scripts/prodready.sh").stat().st_mode & 0o111
