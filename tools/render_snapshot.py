"""Record or check what every answer combination renders: file paths and content hashes.

The template's layout (where files live, which answers include them) can change
without changing a single rendered byte; this tool proves it. Run `--write` to
record a snapshot, `--check` to compare against one. Tests keep a covering
subset in tests/snapshots/renders.json; after a deliberate change to the
rendered output, refresh it with:

    python tools/render_snapshot.py --write tests/snapshots/renders.json
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import copier
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_PARTS = ("copier.yml", "template", "includes")
ANSWERS_FILE = ".copier-answers.yml"
# Answers that decide which files a project gets; the rest only change content.
SHAPE_KEYS = (
    "language",
    "framework",
    "database",
    "cache",
    "platform",
    "strategy",
    "k8s_rollouts",
    "ci",
)


def _choices(questions: dict[str, Any], key: str) -> list[str]:
    raw = questions[key]["choices"]
    return [value["value"] if isinstance(value, dict) else value for value in raw.values()]


def _frameworks(questions: dict[str, Any], language: str) -> list[str]:
    return [
        value["value"]
        for value in questions["framework"]["choices"].values()
        if f"'{language}' only" in value["validator"]
    ]


def all_combinations() -> Iterator[dict[str, str]]:
    """Every valid combination of the answers that shape the file tree."""
    questions = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())
    for language in _choices(questions, "language"):
        for framework, database, cache, platform, strategy, ci in itertools.product(
            _frameworks(questions, language),
            _choices(questions, "database"),
            _choices(questions, "cache"),
            _choices(questions, "platform"),
            _choices(questions, "strategy"),
            _choices(questions, "ci"),
        ):
            if platform == "compose" and strategy != "rolling":
                continue
            base = {
                "language": language,
                "framework": framework,
                "database": database,
                "cache": cache,
                "platform": platform,
                "strategy": strategy,
                "ci": ci,
            }
            if platform == "kubernetes" and strategy != "rolling":
                for rollouts in _choices(questions, "k8s_rollouts"):
                    yield {**base, "k8s_rollouts": rollouts}
            else:
                yield base


def covering_combinations() -> list[dict[str, str]]:
    """Pick a small set in which every stack, dependency and delivery choice appears.

    Each (language, framework) pair is rendered with and without both
    dependencies, and each delivery shape (platform, strategy, rollouts) with
    each CI system, cycling through the stacks so the pairs vary.
    """
    combos = list(all_combinations())
    stacks = sorted({(c["language"], c["framework"]) for c in combos})
    deliveries = sorted(
        {(c["platform"], c["strategy"], c.get("k8s_rollouts", ""), c["ci"]) for c in combos}
    )
    chosen: list[dict[str, str]] = []
    for index, (platform, strategy, rollouts, ci) in enumerate(deliveries):
        language, framework = stacks[index % len(stacks)]
        full = index % 2 == 0
        combo = {
            "language": language,
            "framework": framework,
            "database": "postgres" if full else "none",
            "cache": "redis" if full else "none",
            "platform": platform,
            "strategy": strategy,
            "ci": ci,
        }
        if rollouts:
            combo["k8s_rollouts"] = rollouts
        chosen.append(combo)
    for language, framework in stacks:
        for full in (False, True):
            chosen.append(
                {
                    "language": language,
                    "framework": framework,
                    "database": "postgres" if full else "none",
                    "cache": "redis" if full else "none",
                    "platform": "kubernetes",
                    "strategy": "rolling",
                    "ci": "github",
                }
            )
    unique = {combo_id(combo): combo for combo in chosen}
    return list(unique.values())


def combo_id(combo: dict[str, str]) -> str:
    """Name one combination: a stable, readable key."""
    return ",".join(f"{key}={combo[key]}" for key in SHAPE_KEYS if key in combo)


def render_digest(src: Path, combo: dict[str, str]) -> dict[str, str]:
    """Render one combination and return {path: sha256} of every file."""
    with tempfile.TemporaryDirectory(prefix="prodready-snapshot-") as tmp:
        dst = Path(tmp) / "my-service"
        copier.run_copy(
            str(src), dst, data=combo, defaults=True, unsafe=True, quiet=True, overwrite=True
        )
        return {
            path.relative_to(dst).as_posix(): hashlib.sha256(_stable_bytes(path)).hexdigest()
            for path in sorted(dst.rglob("*"))
            if path.is_file()
        }


def _stable_bytes(path: Path) -> bytes:
    """Read a file, less the answers file's record of where the template was copied from."""
    data = path.read_bytes()
    if path.name != ANSWERS_FILE:
        return data
    return b"".join(
        line for line in data.splitlines(keepends=True) if not line.startswith(b"_src_path:")
    )


def snapshot(combos: list[dict[str, str]], jobs: int) -> dict[str, dict[str, str]]:
    """Digests of every combination, rendered from a copy of the template source."""
    with tempfile.TemporaryDirectory(prefix="prodready-src-") as tmp:
        src = Path(tmp)
        for part in TEMPLATE_PARTS:
            origin = REPO_ROOT / part
            if origin.is_dir():
                shutil.copytree(origin, src / part)
            else:
                shutil.copy2(origin, src / part)
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            digests = pool.map(render_digest, itertools.repeat(src), combos)
            return {combo_id(c): d for c, d in zip(combos, digests, strict=True)}


def diff(expected: dict[str, dict[str, str]], actual: dict[str, dict[str, str]]) -> list[str]:
    """Human-readable differences between two snapshots (empty when equal)."""
    lines = []
    for key in sorted(set(expected) | set(actual)):
        old, new = expected.get(key), actual.get(key)
        if old is None or new is None:
            lines.append(f"{key}: {'added' if old is None else 'missing'} combination")
            continue
        for path in sorted(set(old) | set(new)):
            if old.get(path) != new.get(path):
                state = "new" if path not in old else "gone" if path not in new else "changed"
                lines.append(f"{key}: {path} {state}")
    return lines


def main() -> int:
    """Write or check a snapshot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", type=Path, metavar="FILE")
    action.add_argument("--check", type=Path, metavar="FILE")
    parser.add_argument("--all", action="store_true", help="every combination (slow)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    combos = list(all_combinations()) if args.all else covering_combinations()
    result = snapshot(combos, args.jobs)
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
        print(f"wrote {len(result)} combinations to {args.write}")
        return 0
    problems = diff(json.loads(args.check.read_text()), result)
    for line in problems:
        print(line)
    print(f"{len(result)} combinations, {len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
