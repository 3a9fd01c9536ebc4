"""Gathering findings as detectors go; the first finding of a key is the one used."""

from __future__ import annotations

from typing import Any

from ._model import Confidence, Finding
from ._repo import Hit

__all__ = ["Findings"]


class Findings:
    """Findings by key, in the order they were added (best evidence first)."""

    def __init__(self) -> None:
        self._items: dict[str, list[Finding]] = {}

    def add(  # noqa: PLR0913, PLR0917 - one argument per Finding field
        self,
        key: str,
        value: Any,
        file: str | None,
        line: int | None,
        confidence: Confidence,
        how: str,
    ) -> None:
        """Record a finding; an identical value for the same key and file is not repeated."""
        items = self._items.setdefault(key, [])
        if any(item.value == value and item.file == file for item in items):
            return
        items.append(Finding(key, value, file, line, confidence, how))

    def hit(self, key: str, value: Any, hit: Hit, confidence: Confidence, how: str) -> None:
        """Record a finding located by a search hit."""
        self.add(key, value, hit.file, hit.line, confidence, how)

    def has(self, key: str) -> bool:
        """Whether anything was found for key."""
        return bool(self._items.get(key))

    def value(self, key: str, default: Any = None) -> Any:
        """Return the first value found for key, or default."""
        items = self._items.get(key)
        return items[0].value if items else default

    def values(self, key: str) -> list[Any]:
        """Every value found for key."""
        return [item.value for item in self._items.get(key, [])]

    def frozen(self) -> dict[str, tuple[Finding, ...]]:
        """Return the findings as an immutable mapping for `Detection`."""
        return {key: tuple(items) for key, items in self._items.items() if items}
