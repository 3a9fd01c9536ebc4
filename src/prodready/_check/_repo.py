"""A read-only view of the repository being checked: one walk, cached reads."""

from __future__ import annotations

import fnmatch
import functools
import os
import re
from pathlib import Path
from typing import Any

import yaml

from .._detect._repo import SKIPPED_DIRS
from ._yaml import load_all

__all__ = ["SKIPPED_DIRS", "Repo"]

# Larger files are generated or vendored: not worth reading.
MAX_READ = 512 * 1024


class Repo:
    """The files of a repository, walked once, read at most once each.

    Paths are relative to the root, with '/' separators.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: tuple[str, ...] = tuple(sorted(self._walk()))
        self._names: dict[str, list[str]] = {}
        for rel in self.files:
            self._names.setdefault(rel.rsplit("/", 1)[-1], []).append(rel)

    def _walk(self) -> list[str]:
        found: list[str] = []
        for folder, dirs, names in os.walk(self.root):
            dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
            rel = os.path.relpath(folder, self.root)
            prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
            found.extend(prefix + name for name in names)
        return found

    def named(self, *names: str) -> list[str]:
        """Files whose base name is one of `names` (exact), anywhere in the tree."""
        return sorted(rel for name in names for rel in self._names.get(name, ()))

    def matching(self, pattern: str) -> list[str]:
        """Files whose base name matches a shell pattern (e.g. '*.yaml')."""
        regex = re.compile(fnmatch.translate(pattern))
        return sorted(
            rel for name, rels in self._names.items() if regex.match(name) for rel in rels
        )

    def under(self, folder: str, *suffixes: str) -> list[str]:
        """Files below `folder` (relative) whose name ends with one of `suffixes`."""
        prefix = folder.rstrip("/") + "/"
        return [
            rel
            for rel in self.files
            if rel.startswith(prefix) and (not suffixes or rel.endswith(suffixes))
        ]

    def exists(self, rel: str) -> bool:
        """Whether the file is part of the walked tree."""
        return rel in self._file_set

    @functools.cached_property
    def _file_set(self) -> frozenset[str]:
        return frozenset(self.files)

    @functools.cache  # noqa: B019 - one Repo per check run
    def text(self, rel: str) -> str | None:
        """Return the file's text, or None when it is binary, unreadable or too large."""
        path = self.root / rel
        try:
            if path.stat().st_size > MAX_READ:
                return None
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    @functools.cache  # noqa: B019 - one Repo per check run
    def yaml(self, rel: str) -> tuple[Any, ...] | None:
        """Return the file's YAML documents (with lines), or None when it is not YAML."""
        text = self.text(rel)
        if text is None:
            return None
        try:
            return tuple(load_all(text))
        except yaml.YAMLError:
            return None
