"""Detection: what service an existing repository holds, and how it builds, runs and is deployed.

`detect(path)` walks the repository once (skipping dependencies, virtualenvs,
vendored code and build output), then asks each language's detector what it
recognises. Every finding carries the file and line it came from and a
confidence; a repository no detector recognises is reported as 'unknown'.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError
from . import _go, _node, _python
from ._collect import Findings
from ._common import detect_delivery, detect_procfile
from ._model import KEYS, MULTI_KEYS, SCHEMA_VERSION, Detection, Finding
from ._repo import Repo

__all__ = ["KEYS", "MULTI_KEYS", "SCHEMA_VERSION", "Detection", "Finding", "detect"]

# When a repository holds several (a Django app with a package.json for its
# assets, a Go service with Node tooling), the one with a web framework wins,
# then this order.
_DETECTORS = (("go", _go.detect_go), ("python", _python.detect_python), ("node", _node.detect_node))
_DEFAULT_PORTS = {
    "go": _go.default_port,
    "python": _python.default_port,
    "node": _node.default_port,
}


def detect(path: Path | str = ".") -> Detection:
    """Detect the service in a repository.

    Args:
        path: The repository's directory.

    Returns:
        The findings, best evidence first for each key.

    Raises:
        UserError: path is not a directory.

    """
    root = Path(path).expanduser().resolve()
    if not root.is_dir():
        raise UserError(f"cannot detect a service in {root}: not a directory")
    repo = Repo(root)
    candidates: list[tuple[str, Findings]] = []
    for language, detector in _DETECTORS:
        found = Findings()
        detect_procfile(repo, found)
        if detector(repo, found):
            candidates.append((language, found))
    if candidates:
        # A framework-bearing stack first; otherwise the detectors' order.
        language, found = min(candidates, key=lambda item: not item[1].has("framework"))
    else:
        language, found = "unknown", Findings()
        detect_procfile(repo, found)
    detect_delivery(repo, found)
    if language != "unknown":
        default = _DEFAULT_PORTS[language](found.value("framework"))
        if default is not None:
            found.add("port", default, None, None, "low", "framework default")
    return Detection(root, found.frozen())
