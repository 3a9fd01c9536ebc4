"""prodready: production deployment scaffolding, rendered from a Copier template.

The public API is what `__all__` lists; errors live in `prodready.errors`.
Everything else (modules and names starting with '_') is internal.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from typing import TYPE_CHECKING, Any

from ._check import Check, Severity, check_repository
from ._check import Finding as CheckFinding
from ._check import Result as CheckResult
from ._detect import Detection, Finding, detect
from ._plan import Action, PlannedFile
from ._source import template_source

if TYPE_CHECKING:
    from ._main import NewResult, UpdateResult, new_project, update_project

# Importing Copier takes about a second; `prodready detect` and other light
# callers should not pay for it, so the rendering API loads on first use.
_LAZY = frozenset({"NewResult", "UpdateResult", "new_project", "update_project"})


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module("._main", __name__), name)
    globals()[name] = value
    return value


try:
    __version__ = importlib.metadata.version(__name__)
except importlib.metadata.PackageNotFoundError:  # running from a bare checkout
    __version__ = "0.0.0"

__all__ = [
    "Action",
    "Check",
    "CheckFinding",
    "CheckResult",
    "Detection",
    "Finding",
    "NewResult",
    "PlannedFile",
    "Severity",
    "UpdateResult",
    "__version__",
    "check_repository",
    "detect",
    "new_project",
    "template_source",
    "update_project",
]
