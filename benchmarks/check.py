"""Wall time of `prodready check` on a typical repository and on a 50,000-file tree.

Targets (issue 14): at most 1 s on a typical repository (a rendered Node service
with Postgres and Redis on Kubernetes) and at most 3 s on a generated tree of
50,000 files. The large tree is the typical one plus 12,000 of the team's own
files (source, tests, docs, manifests) and 38,000 files in node_modules, .venv,
vendor and .git, which the check must skip without reading.

Prints the median of in-process `check_repository` calls and of whole CLI runs
(interpreter start and imports included).

    python benchmarks/check.py [--runs N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from prodready import check_repository, new_project

TOTAL_FILES = 50_000
OWN_FILES = 12_000
SKIPPED = ("node_modules", ".venv", "vendor", ".git")


def median_seconds(runs: int, action: Callable[[], object]) -> float:
    """Median wall time of `runs` calls of action."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def render_typical(dst: Path) -> Path:
    """A rendered service: Node/Express, Postgres, Redis, Kubernetes, GitHub Actions."""
    new_project(dst, {"database": "postgres", "cache": "redis"}, defaults=True)
    return dst


def grow(root: Path) -> int:
    """Add files until the tree holds TOTAL_FILES; return the count."""
    own = OWN_FILES // 4
    for index in range(own):
        folder = root / "src" / "modules" / f"m{index // 100}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"handler{index}.ts").write_text(
            f"export const handler{index} = (n: number): number => n * {index};\n"
        )
        tests = root / "test" / f"m{index // 100}"
        tests.mkdir(parents=True, exist_ok=True)
        (tests / f"handler{index}.test.ts").write_text(f"// test {index}\n")
        docs = root / "docs" / "reference" / f"m{index // 100}"
        docs.mkdir(parents=True, exist_ok=True)
        (docs / f"handler{index}.md").write_text(f"# handler{index}\n\nMultiplies.\n")
        assets = root / "assets" / f"m{index // 100}"
        assets.mkdir(parents=True, exist_ok=True)
        (assets / f"icon{index}.svg").write_text("<svg/>\n")
    existing = sum(1 for path in root.rglob("*") if path.is_file())
    remaining = TOTAL_FILES - existing
    for index in range(remaining):
        top = SKIPPED[index % len(SKIPPED)]
        folder = root / top / f"pkg{index // 200}" / "lib"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{index}.js").write_text("module.exports = 1;\n")
    return sum(1 for path in root.rglob("*") if path.is_file())


def cli_seconds(runs: int, root: Path) -> float:
    """Median wall time of the `prodready check` command (exit 0 or 1 are both results)."""
    prodready = shutil.which("prodready") or sys.exit("install prodready first: pip install -e .")
    return median_seconds(
        runs,
        lambda: subprocess.run([prodready, "check", str(root)], check=False, capture_output=True),
    )


def main() -> None:
    """Print the figures for both trees."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-check-") as tmp:
        typical = render_typical(Path(tmp) / "typical-service")
        typical_files = sum(1 for path in typical.rglob("*") if path.is_file())
        typical_lib = median_seconds(args.runs, lambda: check_repository(typical))
        typical_cli = cli_seconds(args.runs, typical)
        large = Path(tmp) / "large-service"
        shutil.copytree(typical, large)
        large_files = grow(large)
        large_lib = median_seconds(args.runs, lambda: check_repository(large))
        large_cli = cli_seconds(args.runs, large)
    print(f"runs per measurement:            {args.runs} (median)")
    print(
        f"typical repository ({typical_files:>6} files): check_repository {typical_lib:.3f} s, "
        f"CLI {typical_cli:.3f} s  (target <= 1 s)"
    )
    print(
        f"large tree         ({large_files:>6} files): check_repository {large_lib:.3f} s, "
        f"CLI {large_cli:.3f} s  (target <= 3 s)"
    )


if __name__ == "__main__":
    main()
