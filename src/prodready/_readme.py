"""The template-managed block of a project's README.md.

README.md belongs to the team after the first render (`_skip_if_exists`), so
Copier never updates it. The part the template writes (how to run, deploy and
roll back the service, with links to its docs) sits between two markers;
`prodready update` replaces just that block with the new release's, leaving
every line the team wrote outside it alone.
"""

from __future__ import annotations

import re

__all__ = ["README", "refresh_block"]

README = "README.md"
_BLOCK = re.compile(r"^<!-- prodready:begin.*?^<!-- prodready:end -->\n?", re.M | re.S)


def refresh_block(current: str, rendered: str) -> str | None:
    """Return current with its managed block replaced by rendered's.

    Returns:
        The refreshed text, or None when either text lacks the markers (the
        team removed them: the README is all theirs).

    """
    fresh = _BLOCK.search(rendered)
    if fresh is None or len(_BLOCK.findall(current)) != 1:
        return None
    return _BLOCK.sub(lambda _match: fresh.group(0), current, count=1)
