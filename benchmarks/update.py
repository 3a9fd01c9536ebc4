"""Median wall time of `prodready update` across one release against a plain `copier update`.

Target (issue 10): prodready's update, with its scratch clone, guard and
atomic apply, takes at most 1.0x a plain `copier update` of the same project.
Both update copies of one project, rendered at v1 of a throwaway template
repository (this checkout's template) and committed, to v2 (a changed file and
a new one).

    python benchmarks/update.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PARTS = ("copier.yml", "template", "includes", "migrations", "releases.yml")
ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=ENV, check=True, capture_output=True)


def template(root: Path) -> Path:
    """A template repository tagged v1 and v2, without a release list (tags only)."""
    repo = root / "template"
    repo.mkdir()
    for part in PARTS[:3]:
        source = REPO_ROOT / part
        if source.is_dir():
            shutil.copytree(source, repo / part)
        else:
            shutil.copy2(source, repo / part)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "v1")
    git(repo, "tag", "v1")
    ignore = repo / "template" / ".dockerignore.jinja"
    ignore.write_text("# v2 header\n" + ignore.read_text())
    (repo / "template" / "UPGRADING.md").write_text("Added in v2.\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "v2")
    git(repo, "tag", "v2")
    return repo


def project(root: Path, repo: Path) -> Path:
    """A project rendered at v1, committed, with one team edit committed."""
    dst = root / "svc"
    argv = [sys.executable, "-m", "prodready", "new", str(dst), "--defaults"]
    subprocess.run(
        [*argv, "--template", str(repo), "--vcs-ref", "v1"],
        check=True,
        capture_output=True,
    )
    git(dst, "init", "-q", "-b", "main")
    git(dst, "add", "-A")
    git(dst, "commit", "-q", "-m", "render v1")
    with (dst / ".dockerignore").open("a") as handle:
        handle.write("scratch/\n")
    git(dst, "commit", "-q", "-am", "team edit")
    return dst


def timed(argv: list[str], base: Path) -> float:
    """Seconds one update of a fresh copy of base takes; it must succeed."""
    work = Path(tempfile.mkdtemp(prefix="bench-update-")) / "svc"
    shutil.copytree(base, work)
    started = time.perf_counter()
    subprocess.run([*argv, str(work)], check=True, capture_output=True, env=ENV)
    elapsed = time.perf_counter() - started
    shutil.rmtree(work.parent)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-update-"))
    try:
        base = project(root, template(root))
        copier_cli = [sys.executable, "-m", "copier", "update", "--trust", "--defaults"]
        copier_cli += ["--skip-answered", "--quiet"]
        prodready_cli = [sys.executable, "-m", "prodready", "update", "--defaults"]
        times: dict[str, list[float]] = {"copier update": [], "prodready update": []}
        # Interleaved, so a busy machine slows both alike.
        for _ in range(args.runs):
            times["copier update"].append(timed(copier_cli, base))
            times["prodready update"].append(timed(prodready_cli, base))
        medians = {name: statistics.median(values) for name, values in times.items()}
        for name, value in medians.items():
            print(f"{name:>17}: median {value:.2f} s over {args.runs} runs")
        ratio = medians["prodready update"] / medians["copier update"]
        print(f"{'ratio':>17}: {ratio:.2f}x (target <= 1.00x)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
