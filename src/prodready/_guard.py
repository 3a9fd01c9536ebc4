"""What Copier does silently during an update, caught so no team edit is lost.

Copier deletes every file the old template version rendered and the new one
does not, edited or not; a file a release renames arrives as a fresh template
copy with the team's edits merged against an empty base. `DeletionWatch`
wraps Copier's deletion step to see the old and new renders before they are
thrown away; `repair` then keeps each team-edited file a release deletes and
merges a renamed file's edits into its new path, three-way.
"""

from __future__ import annotations

import contextlib
import filecmp
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import copier._main as copier_main

__all__ = ["DeletionWatch", "Repairs", "repair"]


@dataclass
class DeletionWatch:
    """The old render's copies of the files Copier deletes, and the new render's copies.

    Attributes:
        removed: Path (relative to the project) to its content in the old render.
        renders: Path to its content in the new render, for the rename targets asked for.
        wanted: Rename targets whose new rendering is kept in `renders`.

    """

    wanted: set[str] = field(default_factory=set)
    removed: dict[str, bytes] = field(default_factory=dict)
    renders: dict[str, bytes] = field(default_factory=dict)

    @contextlib.contextmanager
    def watching(self, subdir: Path) -> Iterator[None]:
        """Wrap Copier's deletion step while the update runs.

        Args:
            subdir: The project's place inside its git work tree.

        """
        original: Callable[..., None] = copier_main._remove_old_files

        def wrapper(prefix: Path, cmp: Any, rm_common: bool = False) -> None:
            old_root, new_root = Path(cmp.left) / subdir, Path(cmp.right) / subdir
            for old in _only_left(cmp.left, cmp.right):
                rel = Path(old).relative_to(old_root).as_posix()
                self.removed[rel] = Path(old).read_bytes()
            for rel in self.wanted:
                if (new_root / rel).is_file():
                    self.renders[rel] = (new_root / rel).read_bytes()
            # Copier recurses through the module's name: only the top call is watched.
            copier_main._remove_old_files = original
            try:
                original(prefix, cmp, rm_common)
            finally:
                copier_main._remove_old_files = wrapper

        copier_main._remove_old_files = wrapper
        try:
            yield
        finally:
            copier_main._remove_old_files = original


def _only_left(left: str, right: str) -> list[str]:
    """Files below left with no counterpart below right (what Copier deletes)."""
    found: list[str] = []
    cmp = filecmp.dircmp(left, right)
    for name in cmp.left_only:
        path = Path(left) / name
        if path.is_symlink():
            continue
        if path.is_dir():
            found += [str(item) for item in path.rglob("*") if item.is_file()]
        else:
            found.append(str(path))
    for name in cmp.common_dirs:
        found += _only_left(str(Path(left) / name), str(Path(right) / name))
    return found


@dataclass
class Repairs:
    """What `repair` did to the updated work tree.

    Attributes:
        kept: Team-edited files the new version no longer renders, restored.
        merged: Renamed files whose edits were merged into the new path (old, new).
        conflicts: Renamed files whose merge left conflict markers.

    """

    kept: list[str] = field(default_factory=list)
    merged: list[tuple[str, str]] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


def repair(work: Path, base: str, watch: DeletionWatch, renames: dict[str, str]) -> Repairs:
    """Keep the team's content that Copier's update threw away.

    Args:
        work: The updated project (in a scratch clone).
        base: The commit the project was at before the update.
        watch: What Copier deleted, with the old render's content.
        renames: Rendered files the releases rename (old path to new path).

    Returns:
        What was kept and merged.

    """
    done = Repairs()
    for rel, rendered in sorted(watch.removed.items()):
        ours = _show(work, base, rel)
        if ours is None:
            continue
        new = renames.get(rel)
        if new is not None and new in watch.renders:
            # Merged even when unedited: with the migration's `git mv`, Copier
            # merged against an empty base and conflicts on every line.
            target = work / new
            clean = _merge(ours, rendered, watch.renders[new], target)
            done.merged.append((rel, new))
            if not clean:
                done.conflicts.append(new)
            (work / rel).unlink(missing_ok=True)
            continue
        if ours == rendered:
            continue  # not the team's: the template's deletion stands
        if not (work / rel).exists():
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            (work / rel).write_bytes(ours)
        done.kept.append(rel)
    return done


def _show(work: Path, commit: str, rel: str) -> bytes | None:
    result = subprocess.run(
        ["git", "-C", str(work), "show", f"{commit}:./{rel}"], capture_output=True, check=False
    )
    return result.stdout if result.returncode == 0 else None


def _merge(ours: bytes, base: bytes, theirs: bytes, target: Path) -> bool:
    """Three-way merge into target, with Copier's conflict labels; whether it was clean."""
    with tempfile.TemporaryDirectory(prefix="prodready-merge-") as scratch:
        files = []
        for name, content in (("ours", ours), ("base", base), ("theirs", theirs)):
            path = Path(scratch) / name
            path.write_bytes(content)
            files.append(str(path))
        labels = ("before updating", "last update", "after updating")
        result = subprocess.run(
            [
                "git",
                "merge-file",
                "-p",
                *(arg for label in labels for arg in ("-L", label)),
                *files,
            ],
            capture_output=True,
            check=False,
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(result.stdout)
    return result.returncode == 0
