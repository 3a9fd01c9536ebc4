"""Accepted exceptions: findings the team has decided to live with, each with a reason.

`.prodready-check.yml` at the repository root::

    accept:
      - id: PR-SEC-002
        reason: Rate limiting is done by the API gateway in front of every service.
      - id: PR-IMG-004
        path: tools/**          # optional: only findings in these files
        reason: Internal tooling image, rebuilt nightly.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from ..errors import CheckConfigError
from ._model import Finding

__all__ = ["EXCEPTIONS_FILE", "Acceptance", "apply", "load"]

EXCEPTIONS_FILE = ".prodready-check.yml"
_ENTRY_KEYS = frozenset({"id", "reason", "path"})


@dataclass(frozen=True)
class Acceptance:
    """One accepted exception: a check ID, why, and optionally which files."""

    check_id: str
    reason: str
    path: str | None = None

    def covers(self, finding: Finding) -> bool:
        """Whether this exception accepts the finding."""
        if finding.check_id != self.check_id:
            return False
        if self.path is None:
            return True
        return finding.file is not None and fnmatch.fnmatch(finding.file, self.path)


def load(root: Path, known_ids: Collection[str]) -> list[Acceptance]:
    """Return the exceptions recorded in the repository (none when the file is absent).

    Raises:
        CheckConfigError: The file is not YAML, has unknown keys, names an unknown
            check ID, or an entry has no reason.

    """
    path = root / EXCEPTIONS_FILE
    if not path.is_file():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise CheckConfigError(f"{EXCEPTIONS_FILE} is not valid YAML{where}") from None
    if data is None:
        return []
    if not isinstance(data, dict) or set(data) - {"accept"}:
        raise CheckConfigError(
            f"{EXCEPTIONS_FILE} must be a mapping with one key, 'accept' (a list of "
            "{id, reason, path} entries)"
        )
    entries = data.get("accept") or []
    if not isinstance(entries, list):
        raise CheckConfigError(f"{EXCEPTIONS_FILE}: 'accept' must be a list of entries")
    return [_entry(index, entry, known_ids) for index, entry in enumerate(entries, 1)]


def _entry(index: int, entry: Any, known_ids: Collection[str]) -> Acceptance:
    where = f"{EXCEPTIONS_FILE}: accept entry {index}"
    if not isinstance(entry, dict) or set(entry) - _ENTRY_KEYS:
        raise CheckConfigError(f"{where} must have only the keys id, reason and path")
    check_id = entry.get("id")
    if check_id not in known_ids:
        raise CheckConfigError(
            f"{where} names unknown check ID {check_id!r}; `prodready check --list` shows them"
        )
    reason = entry.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise CheckConfigError(f"{where} ({check_id}) needs a reason: why the team accepts it")
    path = entry.get("path")
    if path is not None and not isinstance(path, str):
        raise CheckConfigError(f"{where} ({check_id}): path must be a file glob")
    return Acceptance(str(check_id), reason.strip(), path)


def apply(findings: Iterable[Finding], accepted: list[Acceptance]) -> list[Finding]:
    """Return findings with `accepted` set to the reason of the first exception covering each."""
    out = []
    for finding in findings:
        match = next((a for a in accepted if a.covers(finding)), None)
        out.append(replace(finding, accepted=match.reason) if match else finding)
    return out
