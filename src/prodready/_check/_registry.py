"""The registry of checks: each area module registers its checks with `@check`."""

from __future__ import annotations

import re
from collections.abc import Callable

from ._model import Check, CheckFn, Severity

__all__ = ["CHECKS", "check"]

CHECKS: dict[str, Check] = {}
_ID = re.compile(r"^PR-[A-Z][A-Z0-9]{1,3}-\d{3}$")


def check(  # noqa: PLR0913 - a check is these six facts, all required
    check_id: str, area: str, severity: Severity, *, title: str, why: str, fix: str
) -> Callable[[CheckFn], CheckFn]:
    """Register the decorated function as the check `check_id`.

    Raises:
        ValueError: The ID is malformed or already taken (a bug in prodready).

    """

    def register(run: CheckFn) -> CheckFn:
        if not _ID.match(check_id) or check_id in CHECKS:
            raise ValueError(f"check ID {check_id!r} is malformed or already registered")
        CHECKS[check_id] = Check(check_id, area, severity, title, why, fix, run)
        return run

    return register
