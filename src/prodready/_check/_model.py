"""What a check is, what it finds, and the result of checking a repository."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from ._context import Context

__all__ = ["Check", "CheckFn", "Finding", "Hit", "Result", "Severity"]


class Severity(enum.IntEnum):
    """How much a finding stands between the service and production (higher is worse)."""

    WARNING = 1
    ERROR = 2

    @property
    def label(self) -> str:
        """'warning' or 'error', as the CLI and the reports spell it."""
        return self.name.lower()


@dataclass(frozen=True)
class Finding:
    """One thing a check found, where it found it.

    Attributes:
        check_id: The stable ID of the check that found it.
        message: What was found, in one sentence.
        file: The file, relative to the repository root with '/' separators
            (None when the finding is about something missing from the repository).
        line: The 1-based line in `file`, when one line is to blame.
        accepted: The reason from `.prodready-check.yml` when the team accepted it.

    """

    check_id: str
    message: str
    file: str | None = None
    line: int | None = None
    accepted: str | None = None

    @property
    def where(self) -> str:
        """'file:line', 'file', or '(repository)'."""
        if self.file is None:
            return "(repository)"
        return f"{self.file}:{self.line}" if self.line else self.file


class Hit(NamedTuple):
    """What a check function yields: a message and where; the runner adds the check's ID."""

    message: str
    file: str | None = None
    line: int | None = None


CheckFn = Callable[["Context"], Iterable[Hit]]


@dataclass(frozen=True)
class Check:
    """One rule of the production-readiness checklist.

    Attributes:
        id: Stable ID (`PR-<AREA>-<NNN>`); never reused for another rule.
        area: The checklist area ('image', 'kubernetes', 'fly', 'compose',
            'app', 'pipeline', 'docs', 'security').
        severity: The severity of every finding of this check.
        title: What the check wants, in a few words.
        why: Why it matters in production.
        fix: How to fix it, naming the prodready answer that renders the fix
            where one does.
        run: The function that looks; it yields a `Hit` for each problem.

    """

    id: str
    area: str
    severity: Severity
    title: str
    why: str
    fix: str
    run: CheckFn = field(repr=False, compare=False)


@dataclass(frozen=True)
class Result:
    """The outcome of checking one repository.

    Attributes:
        root: The repository checked.
        checks: The checks that ran, in ID order.
        findings: Everything found (accepted ones included), in ID then file order.

    """

    root: str
    checks: tuple[Check, ...]
    findings: tuple[Finding, ...]

    def check(self, check_id: str) -> Check:
        """Return the check with this ID (it must be one that ran)."""
        return next(check for check in self.checks if check.id == check_id)

    @property
    def open(self) -> Iterator[Finding]:
        """Findings the team has not accepted."""
        return (finding for finding in self.findings if finding.accepted is None)

    def count(self, severity: Severity) -> int:
        """How many open findings have this severity."""
        return sum(1 for f in self.open if self.check(f.check_id).severity is severity)

    def fails(self, fail_on: Severity) -> bool:
        """Whether an open finding reaches the `fail_on` severity."""
        return any(self.check(f.check_id).severity >= fail_on for f in self.open)
