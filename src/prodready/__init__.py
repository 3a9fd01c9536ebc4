"""prodready: production deployment scaffolding, rendered from a Copier template.

The public API is what `__all__` lists; errors live in `prodready.errors`.
Everything else (modules and names starting with '_') is internal.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from typing import TYPE_CHECKING, Any

from ._check import Check, Finding, Result, Severity, check_repository
from ._plan import Action, PlannedFile
from ._source import template_source

if TYPE_CHECKING:
    from ._main import NewResult, UpdateResult, new_project, update_project

# Copier takes about a second to import: the names that need it load on first use,
# so `prodready check` does not pay for it.
_LAZY = {name: "._main" for name in ("NewResult", "UpdateResult", "new_project", "update_project")}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


try:
    __version__ = importlib.metadata.version(__name__)
except importlib.metadata.PackageNotFoundError:  # running from a bare checkout
    __version__ = "0.0.0"

__all__ = [
    "Action",
    "Check",
    "Finding",
    "NewResult",
    "PlannedFile",
    "Result",
    "Severity",
    "UpdateResult",
    "__version__",
    "check_repository",
    "new_project",
    "template_source",
    "update_project",
]
