"""The little git prodready needs: where the work tree is, and whether it is clean."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

__all__ = [
    "changed_paths",
    "conflicted_paths",
    "head",
    "is_work_tree",
    "staged_changes",
    "top_level",
]


def _git(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(path), *args], capture_output=True, text=True, check=False
    )


def is_work_tree(path: Path) -> bool:
    """Whether path lies inside a git work tree (False when git is not installed)."""
    if shutil.which("git") is None:
        return False
    result = _git(path, "rev-parse", "--is-inside-work-tree")
    return result.returncode == 0 and result.stdout.strip() == "true"


def top_level(path: Path) -> Path:
    """Return the root of the work tree path lies in."""
    return Path(_git(path, "rev-parse", "--show-toplevel").stdout.strip())


def changed_paths(path: Path) -> list[str]:
    """Uncommitted changes under path, untracked files included, as `git status` shows them."""
    result = _git(path, "status", "--porcelain", "--untracked-files=all", "--", ".")
    return [line[3:] for line in result.stdout.splitlines() if line.strip()]


def conflicted_paths(path: Path) -> list[str]:
    """Paths under path that git records as unmerged."""
    result = _git(path, "diff", "--name-only", "--diff-filter=U", "--relative", "--", ".")
    return sorted({line for line in result.stdout.splitlines() if line})


def head(path: Path) -> str:
    """Return the commit id HEAD points at."""
    return _git(path, "rev-parse", "HEAD").stdout.strip()


def staged_changes(path: Path, base: str) -> list[list[str]]:
    """List what the index under path changes from base: [status, path(s)] rows, with renames."""
    result = _git(path, "diff", "--cached", "--name-status", "-M", "--relative", base, "--", ".")
    return [line.split("\t") for line in result.stdout.splitlines() if line]
