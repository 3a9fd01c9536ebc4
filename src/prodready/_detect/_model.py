"""What detection finds: findings with their source and confidence, and the whole result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = ["KEYS", "MULTI_KEYS", "SCHEMA_VERSION", "Confidence", "Detection", "Finding"]

# Bumped only when a key changes meaning or a field is removed; new keys do not bump it.
SCHEMA_VERSION = 1

Confidence = Literal["high", "medium", "low"]

# Every key detection reports, in the order it is shown. A key holds a list of
# findings; for single-valued keys the first one is the answer and the rest are
# other evidence, for MULTI_KEYS each finding is one item.
KEYS = (
    "language",
    "language_version",
    "framework",
    "package_manager",
    "lockfile",
    "dependency_files",
    "typescript",
    "build_output",
    "install_command",
    "build_command",
    "start_command",
    "test_command",
    "lint_command",
    "app_module",
    "module_path",
    "package_layout",
    "main_packages",
    "port",
    "port_env",
    "env_vars",
    "health_path",
    "dockerfiles",
    "ci_workflows",
    "manifests",
)
MULTI_KEYS = frozenset(
    {"dependency_files", "main_packages", "env_vars", "dockerfiles", "ci_workflows", "manifests"}
)


@dataclass(frozen=True)
class Finding:
    """One fact about the repository, with where it came from and how sure it is.

    Attributes:
        key: What the fact is about (one of `KEYS`).
        value: The fact: a string, an int or a bool.
        file: The file it was read from, relative to the repository (None for
            a default that no file states).
        line: The 1-based line in `file`, when one line says it.
        confidence: 'high' when a file states it, 'medium' when it is
            inferred from code or conventions, 'low' for a default.
        how: A short phrase saying how it was found (e.g. 'engines.node',
            'framework default').

    """

    key: str
    value: Any
    file: str | None
    line: int | None
    confidence: Confidence
    how: str

    @property
    def where(self) -> str:
        """'file:line', 'file', or '(default)'."""
        if self.file is None:
            return "(default)"
        return f"{self.file}:{self.line}" if self.line else self.file

    def to_json(self) -> dict[str, Any]:
        """Return the finding as the JSON schema documents it."""
        return {
            "value": self.value,
            "file": self.file,
            "line": self.line,
            "confidence": self.confidence,
            "how": self.how,
        }


@dataclass(frozen=True)
class Detection:
    """Everything detected in one repository.

    Attributes:
        root: The repository directory.
        findings: Findings by key (keys with nothing found are absent).

    """

    root: Path
    findings: Mapping[str, tuple[Finding, ...]]

    @property
    def language(self) -> str:
        """'node', 'go', 'python', or 'unknown'."""
        return str(self.value("language", "unknown"))

    @property
    def known(self) -> bool:
        """Whether a service stack was recognised."""
        return self.language != "unknown"

    def first(self, key: str) -> Finding | None:
        """Return the finding used for a single-valued key, or None."""
        found = self.findings.get(key, ())
        return found[0] if found else None

    def value(self, key: str, default: Any = None) -> Any:
        """Return the value of a single-valued key, or default."""
        found = self.first(key)
        return default if found is None else found.value

    def values(self, key: str) -> list[Any]:
        """Return every value of a key (the items of a multi-valued key)."""
        return [finding.value for finding in self.findings.get(key, ())]

    def to_json(self) -> dict[str, Any]:
        """Return the documented, stable JSON form (README, 'prodready detect')."""
        return {
            "schema_version": SCHEMA_VERSION,
            "root": str(self.root),
            "language": self.language,
            "findings": {
                key: [finding.to_json() for finding in self.findings[key]]
                for key in KEYS
                if key in self.findings
            },
        }
