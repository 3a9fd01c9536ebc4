"""Median wall time of `prodready new --defaults` against a bare `copier copy` of the same template.

Targets (issue 2): prodready adds under 20% over bare copier, and a full render
stays under 1.5 s on a 2-core machine. Both render from the same source (this
checkout by default, which Copier clones like any git template).

    python benchmarks/render.py [--runs N] [--template SRC]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def timed(argv: list[str]) -> float:
    """Seconds one command takes; it must succeed."""
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - started


def median_of(runs: int, make_argv: object) -> float:
    """Median over runs, each into a fresh destination."""
    times = []
    for _ in range(runs):
        dst = Path(tempfile.mkdtemp(prefix="bench-")) / "bench-service"
        times.append(timed(make_argv(dst)))  # type: ignore[operator]
        shutil.rmtree(dst.parent)
    return statistics.median(times)


def main() -> None:
    """Print both medians and prodready's overhead."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--template", default=str(REPO_ROOT))
    args = parser.parse_args()
    prodready = shutil.which("prodready") or sys.exit("install prodready first: pip install -e .")
    copier = shutil.which("copier") or sys.exit("copier is not installed")

    bare = median_of(
        args.runs,
        lambda dst: [copier, "copy", "--trust", "--defaults", "--quiet", args.template, str(dst)],
    )
    ours = median_of(
        args.runs,
        lambda dst: [prodready, "new", str(dst), "--defaults", "--template", args.template],
    )
    overhead = (ours - bare) / bare * 100
    print(f"runs per command:          {args.runs}")
    print(f"copier copy --defaults:    {bare:.3f} s (median)")
    print(f"prodready new --defaults:  {ours:.3f} s (median)")
    print(f"prodready overhead:        {overhead:+.1f}% (target < 20%)")
    print(f"full render under 1.5 s:   {'yes' if ours < 1.5 else 'NO'}")


if __name__ == "__main__":
    main()
