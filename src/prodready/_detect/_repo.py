"""A read-only view of a repository's files: one walk that skips what is not the team's code."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

__all__ = ["SKIPPED_DIRS", "Hit", "Repo"]

# Dependencies, virtualenvs, build output, caches and VCS metadata: never the
# team's code, and by far most of the files in a checked-out repository.
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "bower_components",
        "vendor",
        ".venv",
        "venv",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "site-packages",
        "dist",
        "build",
        "out",
        "target",
        "coverage",
        ".next",
        ".nuxt",
        ".turbo",
        ".cache",
        ".terraform",
        ".idea",
        ".vscode",
        ".yarn",
        ".pnpm-store",
        "htmlcov",
        "staticfiles",
    }
)
# Source files larger than this are generated or vendored; not worth reading.
_MAX_READ = 512 * 1024


class Hit:
    """One regular-expression match in a file, with its 1-based line."""

    __slots__ = ("file", "line", "match")

    def __init__(self, file: str, line: int, match: re.Match[str]) -> None:
        self.file = file
        self.line = line
        self.match = match

    def group(self, name: int | str = 1) -> str:
        """Return a group of the match ('' when it did not take part)."""
        return self.match.group(name) or ""


class Repo:
    """The files of a repository, walked once, read lazily and at most once each.

    Args:
        root: The repository directory.

    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._texts: dict[str, str | None] = {}

    @cached_property
    def files(self) -> tuple[str, ...]:
        """Relative POSIX paths of every file outside the skipped directories, sorted."""
        found: list[str] = []
        stack = [""]
        while stack:
            rel_dir = stack.pop()
            try:
                with os.scandir(self.root / rel_dir if rel_dir else self.root) as entries:
                    for entry in entries:
                        rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                        if entry.is_dir(follow_symlinks=False):
                            if not _skipped(entry):
                                stack.append(rel)
                        elif entry.is_file(follow_symlinks=False):
                            found.append(rel)
            except OSError:
                continue
        return tuple(sorted(found))

    @cached_property
    def _file_set(self) -> frozenset[str]:
        return frozenset(self.files)

    def exists(self, rel: str) -> bool:
        """Whether a (non-skipped) file exists."""
        return rel in self._file_set

    def is_dir(self, rel: str) -> bool:
        """Whether a directory holds any non-skipped file."""
        prefix = rel.rstrip("/") + "/"
        return any(name.startswith(prefix) for name in self.files)

    def with_suffix(self, *suffixes: str) -> list[str]:
        """Return the files whose names end with one of the suffixes."""
        return [name for name in self.files if name.endswith(suffixes)]

    def text(self, rel: str) -> str | None:
        """Return a file's text (None when missing, too big or unreadable)."""
        if rel not in self._texts:
            self._texts[rel] = self._read(rel)
        return self._texts[rel]

    def _read(self, rel: str) -> str | None:
        path = self.root / rel
        try:
            if path.stat().st_size > _MAX_READ:
                return None
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def search(self, pattern: re.Pattern[str], files: list[str] | tuple[str, ...]) -> Iterator[Hit]:
        """Yield every match of pattern in files, in file order."""
        for rel in files:
            text = self.text(rel)
            if not text:
                continue
            for match in pattern.finditer(text):
                # The line of the value (group 1) where a pattern spans lines to reach it.
                start = match.start(1) if pattern.groups and match.start(1) >= 0 else match.start()
                yield Hit(rel, line_of(text, start), match)

    def first(self, pattern: re.Pattern[str], files: list[str] | tuple[str, ...]) -> Hit | None:
        """Return the first match of pattern in files, or None."""
        return next(self.search(pattern, files), None)


def line_of(text: str, offset: int) -> int:
    """Return the 1-based line number of a character offset."""
    return text.count("\n", 0, offset) + 1


def _skipped(entry: os.DirEntry[str]) -> bool:
    if entry.name in SKIPPED_DIRS or entry.name.endswith(".egg-info"):
        return True
    # A virtualenv under any name (env/, .env-3.11/ ...) carries pyvenv.cfg.
    return os.path.exists(os.path.join(entry.path, "pyvenv.cfg"))  # noqa: PTH110, PTH118 - hot path
