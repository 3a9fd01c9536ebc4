"""Shared test helpers: render the template, read its questions, build throwaway git repos."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
COPIER_YML = REPO_ROOT / "copier.yml"
# What a template source consists of (copier.yml's `_subdirectory` plus the shared Jinja).
TEMPLATE_PARTS = ("copier.yml", "template", "includes")

# `${{ ... }}` is GitHub Actions syntax and belongs in rendered workflows; any
# other `{{` or `{%` is Jinja that failed to render.
LEFTOVER_JINJA = re.compile(r"(?<!\$)\{\{|\{%")

# Answers that make every optional part of the template render.
FULL_STACK = {"database": "postgres", "cache": "redis"}


@functools.cache
def questions() -> dict[str, Any]:
    """The questions of copier.yml (settings, whose keys start with '_', left out)."""
    data = yaml.safe_load(COPIER_YML.read_text())
    return {key: value for key, value in data.items() if not key.startswith("_")}


def choices(key: str) -> list[str]:
    """The values a choice question allows, in copier.yml's order."""
    raw = questions()[key]["choices"]
    return [value["value"] if isinstance(value, dict) else value for value in raw.values()]


def frameworks(language: str) -> list[str]:
    """The frameworks copier.yml offers for one language (read from the choice validators)."""
    return [
        value["value"]
        for value in questions()["framework"]["choices"].values()
        if f"'{language}' only" in value["validator"]
    ]


def stacks() -> list[tuple[str, str]]:
    """Every (language, framework) pair copier.yml offers."""
    return [(lang, fw) for lang in choices("language") for fw in frameworks(lang)]


def copy_template(dst: Path) -> Path:
    """Copy the template source (not a git repo) to dst, so renders skip copier's git clone."""
    for part in TEMPLATE_PARTS:
        src = REPO_ROOT / part
        if src.is_dir():
            shutil.copytree(src, dst / part)
        else:
            shutil.copy2(src, dst / part)
    return dst


def render(src: Path | str, dst: Path, **answers: Any) -> Path:
    """Render the template with answers (defaults for the rest) and check the output.

    Asserts that every answer names a real question and that no Jinja is left
    in any rendered file.
    """
    unknown = set(answers) - set(questions())
    assert not unknown, f"not questions in copier.yml: {sorted(unknown)}"
    copier.run_copy(
        str(src),
        dst,
        data=answers,
        defaults=True,
        unsafe=True,
        quiet=True,
        overwrite=True,
        vcs_ref="HEAD" if (Path(src) / ".git").exists() else None,
    )
    assert_no_jinja_left(dst)
    return dst


def assert_no_jinja_left(root: Path) -> None:
    """Fail if any rendered text file still holds Jinja syntax."""
    for path in rendered_files(root):
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        match = LEFTOVER_JINJA.search(text)
        where = path.relative_to(root)
        assert match is None, f"unrendered Jinja in {where}: {text[match.start() :][:60]!r}"


def rendered_files(root: Path) -> list[Path]:
    """Every file of a rendered project (dependency and build folders left out)."""
    skip = {".git", "node_modules", ".venv", "dist", "__pycache__"}
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and not skip.intersection(path.relative_to(root).parts)
    )


def answers_file(project: Path) -> dict[str, Any]:
    """The answers Copier recorded in a rendered project."""
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def git(cwd: Path, *args: str) -> str:
    """Run git with a fixed identity; return its stdout."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
    }
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    )
    return result.stdout


def git_init_commit(path: Path, message: str = "initial") -> None:
    """Make path a git repo with everything in it committed."""
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", message)


def build_tree(root: Path, files: dict[str, str]) -> Path:
    """Write a tree of files from a {relative path: content} dict."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


def require_tool(name: str) -> str:
    """Path of a tool the test needs: skip without it on a laptop, fail in CI."""
    found = shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}, and CI must run this test (see .ci/run)")
    pytest.skip(message)
    raise AssertionError("unreachable")
