"""`prodready check`: audit a service repository against the production-readiness checklist.

Each area module registers its checks (`@check`) when imported below; the
registry gives each a stable ID, a severity, why it matters and how to fix it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..errors import CheckConfigError
from . import app, cloudrun, docs, image, kubernetes, pipeline, platforms, security
from ._accept import EXCEPTIONS_FILE, apply, load
from ._context import Context
from ._model import Check, Finding, Result, Severity
from ._registry import CHECKS
from ._repo import Repo
from ._report import FORMATS, render

del app, cloudrun, docs, image, kubernetes, pipeline, platforms, security  # imported to register

__all__ = [
    "CHECKS",
    "EXCEPTIONS_FILE",
    "FORMATS",
    "Check",
    "Finding",
    "Result",
    "Severity",
    "check_repository",
    "render",
]


def check_repository(
    path: Path | str, *, only: Iterable[str] = (), skip: Iterable[str] = ()
) -> Result:
    """Check a repository against the production-readiness checklist.

    Args:
        path: The repository's root directory.
        only: Run only these check IDs (all when empty).
        skip: Do not run these check IDs.

    Returns:
        The checks that ran and every finding, with the exceptions recorded in
        `.prodready-check.yml` marked as accepted.

    Raises:
        CheckConfigError: The path is not a directory, an ID is unknown, or the
            exceptions file is invalid.

    """
    root = Path(path)
    if not root.is_dir():
        raise CheckConfigError(f"{root} is not a directory; pass a repository's root")
    only, skip = list(only), list(skip)
    for check_id in [*only, *skip]:
        if check_id not in CHECKS:
            raise CheckConfigError(
                f"unknown check ID {check_id!r}; `prodready check --list` shows the "
                f"{len(CHECKS)} IDs"
            )
    accepted = load(root, CHECKS)
    selected = [
        check
        for check_id, check in sorted(CHECKS.items())
        if (not only or check_id in only) and check_id not in skip
    ]
    context = Context(Repo(root))
    findings = [
        Finding(check.id, hit.message, hit.file, hit.line)
        for check in selected
        for hit in check.run(context)
    ]
    findings.sort(key=lambda f: (f.check_id, f.file or "", f.line or 0, f.message))
    return Result(str(root), tuple(selected), tuple(apply(findings, accepted)))
