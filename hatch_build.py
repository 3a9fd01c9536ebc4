"""Build hook: the wheel carries the template's release history, so updates work offline.

The history is a git bundle of every release tag in releases.yml (tags are
created from the list first, like `prodready update` does). An sdist carries
the bundle at its root, so a wheel built from the sdist (no .git there) still
gets it. Editable installs read the checkout itself and need no bundle.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hatchling.builders.hooks.plugin.interface import BuildHookInterface

BUNDLE = "history.bundle"


class ReleaseHistoryHook(BuildHookInterface):  # type: ignore[type-arg]
    """Add history.bundle to the wheel (under prodready/_template/) and to the sdist."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Build the bundle (or take the sdist's) and include it."""
        if version == "editable":
            return
        root = Path(self.root)
        if (root / ".git").exists():
            bundle = Path(tempfile.mkdtemp(prefix="prodready-build-")) / BUNDLE
            _bundle(root, bundle)
        elif (root / BUNDLE).is_file():
            bundle = root / BUNDLE
        else:
            raise RuntimeError(f"no release history: build from a git checkout or sdist ({BUNDLE})")
        target = f"prodready/_template/{BUNDLE}" if self.target_name == "wheel" else BUNDLE
        build_data["force_include"][str(bundle)] = target


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
    )


def _bundle(root: Path, out: Path) -> None:
    """Tag every release of releases.yml that has a commit, and bundle the tags."""
    releases = yaml.safe_load((root / "releases.yml").read_text(encoding="utf-8"))["releases"]
    refs = []
    for release in releases:
        if not release.get("commit"):
            continue  # the release being cut: its commit is recorded after it
        tag = f"v{release['version']}"
        if _git(root, "rev-parse", "-q", "--verify", f"refs/tags/{tag}").returncode != 0:
            _git(root, "tag", tag, str(release["commit"]))
        refs.append(f"refs/tags/{tag}")
    result = _git(root, "bundle", "create", str(out), *refs)
    if not refs or result.returncode != 0:
        raise RuntimeError(f"cannot bundle the release history: {result.stderr.strip()}")
