"""Every release that renames or removes an answer key or a rendered file ships its migration.

Consecutive releases of a release list are rendered with the same answers and
compared: a question or a rendered path that disappears must be listed in the
newer release's releases.yml entry (renamed or removed), and a release that
lists any must run migrations/migrate.py from copier.yml's `_migrations`.
Checked on this repository's own releases and on the test history; a release
that forgets its migration is caught.
"""

from __future__ import annotations

import functools
import re
import shutil
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml

from helpers import REPO_ROOT, git, git_commit_all
from history import build_history
from prodready._releases import Release, ReleaseList, ensure_tags, load_releases, record_release

# Answer sets that between them render every language, platform and CI system.
ANSWER_SETS: list[dict[str, Any]] = [
    {"language": "node", "database": "postgres", "cache": "redis", "strategy": "canary"},
    {"language": "go", "platform": "fly", "ci": "gitlab", "database": "postgres"},
    {"language": "python", "framework": "django", "platform": "compose", "database": "postgres"},
]


@functools.cache
def render_release(repo: Path, tag: str, answers_key: str, scratch: Path) -> frozenset[str]:
    """The rendered paths of one release with one answer set (cached per test session)."""
    answers = yaml.safe_load(answers_key)
    dst = scratch / f"{repo.name}-{tag}-{abs(hash(answers_key))}"
    copier.run_copy(
        str(repo), dst, data=answers, defaults=True, vcs_ref=tag, unsafe=True, quiet=True
    )
    return frozenset(path.relative_to(dst).as_posix() for path in dst.rglob("*") if path.is_file())


def questions_at(repo: Path, tag: str) -> set[str]:
    config = yaml.safe_load(git(repo, "show", f"{tag}:copier.yml"))
    return {key for key in config if not key.startswith("_")}


def migrations_at(repo: Path, tag: str) -> list[dict[str, Any]]:
    return yaml.safe_load(git(repo, "show", f"{tag}:copier.yml")).get("_migrations") or []


def release_problems(
    repo: Path,
    old: Release,
    new: Release,
    scratch: Path,
    answer_sets: list[dict[str, Any]] = ANSWER_SETS,
) -> list[str]:
    """What release `new` renames or removes without saying so, or without its migration."""
    problems = []
    lost_keys = questions_at(repo, old.tag) - questions_at(repo, new.tag)
    declared_keys = set(new.renamed_answers) | set(new.removed_answers)
    problems += [
        f"{new.tag}: answer key '{key}' gone, not in releases.yml"
        for key in sorted(lost_keys - declared_keys)
    ]
    declared_paths = set(new.renamed_files) | set(new.removed_files)
    for answers in answer_sets:
        renamed = {new.renamed_answers.get(key, key): value for key, value in answers.items()}
        before = render_release(repo, old.tag, yaml.safe_dump(answers), scratch)
        after = render_release(repo, new.tag, yaml.safe_dump(renamed), scratch)
        problems += [
            f"{new.tag}: rendered path {path} gone, not in releases.yml"
            for path in sorted(before - after - declared_paths)
        ]
        problems += [
            f"{new.tag}: renamed path {path} is not rendered"
            for source, path in new.renamed_files.items()
            if source in before and path not in after
        ]
    if lost_keys or declared_keys or declared_paths:
        entries = [
            entry
            for entry in migrations_at(repo, new.tag)
            if str(entry.get("version")) == new.tag and "migrations/migrate.py" in str(entry)
        ]
        if not entries:
            problems.append(f"{new.tag}: renames or removes things but has no _migrations entry")
    return sorted(set(problems))


def pairs(releases: ReleaseList) -> list[tuple[Release, Release]]:
    return list(zip(releases.releases, releases.releases[1:], strict=False))


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_history(tmp_path_factory.mktemp("mig") / "prodready", "file:///nonexistent")


def test_this_repositorys_releases_ship_their_migrations(tmp_path: Path) -> None:
    releases = load_releases(REPO_ROOT)
    assert releases is not None
    ensure_tags(REPO_ROOT, releases)
    for old, new in pairs(releases):
        assert release_problems(REPO_ROOT, old, new, tmp_path) == []


def test_the_history_releases_ship_their_migrations(history: Path, tmp_path: Path) -> None:
    releases = load_releases(history)
    assert releases is not None
    checked = pairs(releases)
    assert len(checked) == 2
    for old, new in checked:
        assert release_problems(history, old, new, tmp_path) == []


def test_a_release_without_its_migration_is_caught(history: Path, tmp_path: Path) -> None:
    repo = tmp_path / "forgetful"
    git(tmp_path, "clone", "-q", str(history), str(repo))
    # v0.4.0 drops a rendered file and renames a question, and says nothing.
    git(repo, "rm", "-q", "template/docs/upgrading.md")
    for path in [repo / "copier.yml", *(repo / "template").rglob("*.jinja")]:
        text = path.read_text()
        if "fly_region" in text:
            path.write_text(re.sub(r"\bfly_region\b", "region", text))
    with (repo / "releases.yml").open("a") as handle:
        handle.write("  - version: 0.4.0\n    changes:\n      - Tidier.\n")
    git_commit_all(repo, "template 0.4.0")
    record_release(repo, "0.4.0")
    releases = load_releases(repo)
    assert releases is not None
    old, new = releases.releases[-2:]
    problems = release_problems(repo, old, new, tmp_path, ANSWER_SETS[1:2])
    assert problems == [
        "v0.4.0: answer key 'fly_region' gone, not in releases.yml",
        "v0.4.0: renames or removes things but has no _migrations entry",
        "v0.4.0: rendered path docs/upgrading.md gone, not in releases.yml",
    ]
    shutil.rmtree(repo)
