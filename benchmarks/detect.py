"""Wall time of `prodready detect` on a typical service repo and on a 50,000-file tree.

Targets (issue 9): at most 1 s on a typical repository, at most 3 s on a
50,000-file tree holding node_modules, .venv and vendor/ (which detection skips).
Both the library call (median of N runs) and the whole command (one process,
interpreter start-up included) are shown.

    python benchmarks/detect.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from prodready import detect

TARGETS = {"typical": 1.0, "50k-files": 3.0}


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def typical_repo(root: Path) -> Path:
    """An Express + TypeScript service of about 300 files (source, tests, docs, CI, manifests)."""
    deps = {"express": "^4.19.2", "pg": "^8.11.3", "pino": "^9.0.0"}
    package = {
        "name": "typical",
        "engines": {"node": ">=20"},
        "scripts": {"build": "tsc", "start": "node dist/index.js", "test": "jest"},
        "dependencies": deps,
        "devDependencies": {"typescript": "^5.4.0"},
    }
    write(root, "package.json", json.dumps(package, indent=2))
    write(root, "package-lock.json", json.dumps({"lockfileVersion": 3, "packages": {}}))
    write(root, "tsconfig.json", '{"compilerOptions": {"outDir": "dist"}}\n')
    write(root, "src/index.ts", "const port = Number(process.env.PORT ?? 3000);\n")
    for index in range(200):
        write(
            root,
            f"src/modules/m{index // 20}/handler{index}.ts",
            f"export const h{index} = () => process.env.FEATURE_{index % 7} ?? 'x';\n" * 30,
        )
    for index in range(60):
        write(root, f"test/h{index}.test.ts", "test('x', () => expect(1).toBe(1));\n")
    for index in range(30):
        write(root, f"docs/page{index}.md", "# page\n" * 40)
    write(root, ".github/workflows/ci.yml", "name: CI\non: [push]\njobs: {}\n")
    write(root, "k8s/deployment.yaml", "apiVersion: apps/v1\nkind: Deployment\n")
    return root


def big_tree(root: Path, total: int = 50_000) -> Path:
    """The typical repo plus node_modules, .venv and vendor/ filling it up to `total` files."""
    typical_repo(root)
    written = sum(1 for path in root.rglob("*") if path.is_file())
    shares = {
        "node_modules/pkg{}/lib/f{}.js": 0.6,
        ".venv/lib/python3.11/site-packages/p{}/m{}.py": 0.25,
        "vendor/github.com/x/m{}/f{}.go": 0.15,
    }
    remaining = total - written
    for pattern, share in shares.items():
        count = int(remaining * share)
        for index in range(count):
            write(root, pattern.format(index // 100, index), "module.exports = process.env.X;\n")
    extra = total - sum(1 for path in root.rglob("*") if path.is_file())
    for index in range(extra):
        write(root, f"node_modules/extra/f{index}.js", "\n")
    return root


def time_library(root: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        detect(root)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def time_command(root: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "prodready", "detect", str(root), "--json"],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-detect-") as scratch:
        trees = {
            "typical": typical_repo(Path(scratch) / "typical"),
            "50k-files": big_tree(Path(scratch) / "big"),
        }
        print(f"{'tree':<10} {'files':>7} {'detect()':>10} {'command':>9} {'target':>7}")
        worst = 0.0
        for name, root in trees.items():
            files = sum(1 for path in root.rglob("*") if path.is_file())
            library = time_library(root, args.runs)
            command = time_command(root)
            worst = max(worst, command / TARGETS[name])
            print(f"{name:<10} {files:>7} {library:>9.3f}s {command:>8.3f}s {TARGETS[name]:>6.1f}s")
    print("within targets" if worst <= 1 else "OVER TARGET")
    return 0 if worst <= 1 else 1


if __name__ == "__main__":
    sys.exit(main())
