"""Cut a template release: record the release commit in releases.yml and tag it.

The release commit carries its own releases.yml entry (changes, renamed and
removed answers and files, actions) but cannot carry its own id; this writes
the id of HEAD into that entry, commits, and tags HEAD `v<version>` (see
README: "Releasing the template"). Push the commit and the tag afterwards.

Usage::

    python tools/release.py 0.2.0
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from prodready._releases import record_release
from prodready.errors import UserError

REPO_ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    """Record and tag the release named on the command line; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("version", help="the version whose releases.yml entry HEAD added")
    args = parser.parse_args()
    try:
        commit = record_release(REPO_ROOT, args.version)
    except UserError as error:
        print(f"release: {error}", file=sys.stderr)
        return 2
    print(
        f"Tagged v{args.version} at {commit[:12]}; now: git push --follow-tags && git push --tags"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
