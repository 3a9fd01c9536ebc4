"""Small text helpers shared by the detectors: locating keys in JSON and TOML sources."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

__all__ = ["key_line", "load_json", "load_toml"]


def key_line(text: str, key: str, after: str | None = None) -> int | None:
    """Return the 1-based line of the first `"key":` or `key =` (after `after`, if given).

    Parsers drop positions; this finds them again for JSON and TOML keys, which
    is precise enough to point a person at the line.
    """
    start = 0
    if after is not None:
        found = re.search(
            rf'^[ \t]*(?:"{re.escape(after)}"\s*:|\[?{re.escape(after)}\]?\s*=?)', text, re.M
        )
        if found:
            start = found.end()
    pattern = re.compile(rf'(?:"{re.escape(key)}"\s*:|^[ \t]*{re.escape(key)}\s*=)', re.M)
    match = pattern.search(text, start)
    return text.count("\n", 0, match.start()) + 1 if match else None


def load_json(text: str | None) -> dict[str, Any]:
    """Parse a JSON object; {} when the text is missing or not a JSON object."""
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def load_toml(text: str | None) -> dict[str, Any]:
    """Parse a TOML document; {} when the text is missing or not valid TOML."""
    if not text:
        return {}
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}
