"""Plan and apply the copy of a staged render into its destination."""

from __future__ import annotations

import enum
import filecmp
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import ConflictError

__all__ = ["Action", "PlannedFile", "apply_plan", "make_plan", "raise_on_conflicts"]


class Action(enum.StrEnum):
    """What happens to one rendered file in the destination."""

    CREATE = "create"
    """The file does not exist yet."""
    IDENTICAL = "identical"
    """The file exists with the same content; it is left alone."""
    OVERWRITE = "overwrite"
    """The file exists with other content and is replaced (`overwrite=True`)."""
    SKIP = "skip"
    """The file exists with other content and is kept (`skip_existing=True`)."""
    CONFLICT = "conflict"
    """The file exists with other content and nobody said what to do."""


@dataclass(frozen=True)
class PlannedFile:
    """One rendered file and what happens to it.

    Attributes:
        path: Path relative to the destination, with '/' separators.
        action: What happens to it.

    """

    path: PurePosixPath
    action: Action


def make_plan(  # noqa: PLR0913 - keyword-only options
    staged: Path,
    dst: Path,
    *,
    overwrite: bool = False,
    skip_existing: bool = False,
    record: str | None = None,
    protected: Callable[[str], bool] | None = None,
) -> list[PlannedFile]:
    """Compare a staged render with its destination, file by file.

    Args:
        staged: Root of the staged render.
        dst: Destination directory (it may not exist).
        overwrite: Replace files that differ.
        skip_existing: Keep files that differ.
        record: The answers file: with `skip_existing` it is replaced all the
            same, as it must describe this render (Copier does the same).
        protected: Says which existing files are the app's own: they are kept
            (`Action.SKIP`) whatever `overwrite` says.

    Returns:
        Every rendered file in path order.

    Raises:
        ConflictError: A rendered file would replace a directory (or sit
            below a file); lists each one. Files that merely differ are
            planned as `Action.CONFLICT` (see `raise_on_conflicts`).

    """
    plan: list[PlannedFile] = []
    blocked: list[str] = []
    for rel in _files(staged):
        target = dst / rel
        if _blocked_by_file(dst, rel):
            blocked.append(f"{rel}: a parent path is a file")
        elif target.is_dir() and not target.is_symlink():
            blocked.append(f"{rel}: is a directory")
        elif not target.exists() and not target.is_symlink():
            plan.append(PlannedFile(rel, Action.CREATE))
        elif target.is_file() and filecmp.cmp(staged / rel, target, shallow=False):
            plan.append(PlannedFile(rel, Action.IDENTICAL))
        elif protected is not None and protected(str(rel)):
            plan.append(PlannedFile(rel, Action.SKIP))
        elif overwrite or (skip_existing and str(rel) == record):
            plan.append(PlannedFile(rel, Action.OVERWRITE))
        elif skip_existing:
            plan.append(PlannedFile(rel, Action.SKIP))
        else:
            plan.append(PlannedFile(rel, Action.CONFLICT))
    if blocked:
        raise ConflictError(
            f"{len(blocked)} rendered path(s) collide with existing folders or files in {dst}; "
            "move them away first",
            details=blocked,
        )
    return plan


def raise_on_conflicts(plan: list[PlannedFile], dst: Path) -> None:
    """Stop before writing anything when the plan has conflicts.

    Raises:
        ConflictError: Lists every conflicting path.

    """
    conflicts = [str(item.path) for item in plan if item.action is Action.CONFLICT]
    if conflicts:
        hint = ""
        if ".copier-answers.yml" in conflicts:
            hint = " (already rendered? use 'prodready update')"
        raise ConflictError(
            f"{len(conflicts)} file(s) in {dst} already exist with different content{hint}; "
            "nothing was written: pass --overwrite to replace them "
            "or --skip-existing to keep yours",
            details=conflicts,
        )


def apply_plan(plan: list[PlannedFile], staged: Path, dst: Path) -> None:
    """Copy the planned files from the staged render into dst.

    Each file is written to a temporary name beside its target and renamed
    over it, so no file is ever left half-written.
    """
    for item in plan:
        if item.action not in (Action.CREATE, Action.OVERWRITE):
            continue
        source, target = staged / item.path, dst / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        os.close(fd)
        try:
            shutil.copy2(source, tmp)
            Path(tmp).replace(target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _files(root: Path) -> list[PurePosixPath]:
    """Every file below root, relative to it (empty folders are not carried over)."""
    found: list[PurePosixPath] = []
    for folder, _dirs, names in os.walk(root):
        base = PurePosixPath(Path(folder).relative_to(root).as_posix())
        found.extend(base / name for name in names)
    return sorted(found)


def _blocked_by_file(dst: Path, rel: PurePosixPath) -> bool:
    """Whether some parent of dst/rel exists as a non-directory."""
    for parent in list(rel.parents)[:-1]:
        candidate = dst / parent
        if candidate.exists() and not candidate.is_dir():
            return True
    return False
