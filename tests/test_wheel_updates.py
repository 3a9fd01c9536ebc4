"""A wheel-installed prodready renders a versioned project and updates it offline.

The wheel is built from the throwaway release history (tests/history.py) plus
this package, and installed into a fresh virtualenv; no checkout and no
network: the public URL the project records does not even exist.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from helpers import REPO_ROOT, answers_file, git_commit_all, git_init_commit
from history import REMOVED, RENAMED, build_history

UNREACHABLE = "file:///nonexistent/prodready.git"
PACKAGE_PARTS = ("pyproject.toml", "hatch_build.py", "README.md", "src")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a virtualenv holding only the wheel (dependencies borrowed, read-only)."""
    root = tmp_path_factory.mktemp("wheel")
    repo = build_history(root / "prodready", UNREACHABLE)
    for part in PACKAGE_PARTS:
        source = REPO_ROOT / part
        if source.is_dir():
            shutil.copytree(source, repo / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, repo / part)
    dist = root / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", dist, repo],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert "prodready/_template/history.bundle" in archive.namelist()
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    (site,) = (venv / "lib").glob("python3*/site-packages")
    # A pure-Python wheel installs by unpacking (`pip install --prefix` would uninstall
    # the running environment's own prodready first).
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    # Copier and friends come from this interpreter's site-packages, added after the
    # venv's own (whose prodready is the wheel's).
    (site / "borrowed-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv / "bin" / "python"


def prodready(python: Path, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "PRODREADY_TEMPLATE"}
    return subprocess.run(
        [python, "-m", "prodready", *map(str, args)],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )


def test_wheel_renders_a_release_and_updates_offline(installed: Path, tmp_path: Path) -> None:
    check = subprocess.run(
        [installed, "-c", "import prodready; print(prodready.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "site-packages" in check.stdout, "the wheel's prodready, not this checkout"

    project = tmp_path / "svc"
    result = prodready(installed, "new", project, "--defaults", "--vcs-ref", "v0.1.0", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    recorded = answers_file(project)
    assert recorded["_src_path"] == UNREACHABLE, "never a site-packages path"
    assert recorded["_commit"] == "v0.1.0"
    git_init_commit(project, "render v0.1.0")
    with (project / RENAMED[0]).open("a") as handle:
        handle.write("\nOur rollback note.\n")
    git_commit_all(project, "team edit")

    # A teammate's clone, elsewhere, updates with the installed wheel alone.
    other = tmp_path / "elsewhere" / "svc"
    subprocess.run(["git", "clone", "-q", project, other], check=True)
    result = prodready(installed, "update", other, "--defaults", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Changelog (v0.1.0 -> v0.3.0):" in result.stdout
    assert answers_file(other)["_commit"] == "v0.3.0"
    assert answers_file(other)["_src_path"] == UNREACHABLE
    assert "Our rollback note." in (other / RENAMED[1]).read_text()
    assert not (other / REMOVED).exists(), "unedited, so the release's removal stands"


def test_wheel_render_defaults_to_the_newest_release(installed: Path, tmp_path: Path) -> None:
    result = prodready(installed, "new", tmp_path / "svc", "--defaults", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert answers_file(tmp_path / "svc")["_commit"] == "v0.3.0"
