"""Errors raised by prodready.

One flat hierarchy rooted at `ProdreadyError`. Everything a person can fix by
changing their input or their working tree derives from `UserError`; the CLI
prints those as one line and exits with status 2. Anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AnswerError",
    "CheckConfigError",
    "ConflictError",
    "DirtyRepoError",
    "NoTerminalError",
    "NotAProjectError",
    "ProdreadyError",
    "TemplateError",
    "UpdateError",
    "UserError",
]


class ProdreadyError(Exception):
    """Base class for every error prodready raises on purpose."""


class UserError(ProdreadyError):
    """Something the user can fix; shown as one line, never as a traceback.

    Attributes:
        details: Extra lines (for example the conflicting paths) shown below
            the message.

    """

    def __init__(self, message: str, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.details = tuple(details)


class AnswerError(UserError):
    """An answer (from --data, --data-file or a default) is not allowed."""


class CheckConfigError(UserError):
    """`prodready check` was given a bad path, check ID or exceptions file."""


class ConflictError(UserError):
    """Rendering would replace files that already exist with other content."""


class DirtyRepoError(UserError):
    """The destination is a git work tree with uncommitted changes."""


class NoTerminalError(UserError):
    """Questions would have to be asked, but there is no terminal to ask them on."""


class NotAProjectError(UserError):
    """The path is not a project prodready (or Copier) rendered."""


class TemplateError(UserError):
    """The template source cannot be found, fetched or checked out."""


class UpdateError(UserError):
    """Copier refused or failed to update a project."""
