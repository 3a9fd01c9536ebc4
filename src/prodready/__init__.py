"""prodready: production deployment scaffolding, rendered from a Copier template.

The public API is what `__all__` lists; errors live in `prodready.errors`.
Everything else (modules and names starting with '_') is internal.
"""

from __future__ import annotations

import importlib.metadata

from ._check import Check, Finding, Result, Severity, check_repository
from ._main import NewResult, UpdateResult, new_project, update_project
from ._plan import Action, PlannedFile
from ._source import template_source

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
