"""Shared test helpers: render the template, read its questions, build throwaway git repos."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
COPIER_YML = REPO_ROOT / "copier.yml"
# What a template source consists of (copier.yml's `_subdirectory` plus the shared Jinja).
TEMPLATE_PARTS = ("copier.yml", "template", "includes")

# `${{ ... }}` is GitHub Actions syntax and belongs in rendered workflows, and
# `{{args.NAME}}` is Argo Rollouts' in AnalysisTemplates; any other `{{` or `{%`
# is Jinja that failed to render.
LEFTOVER_JINJA = re.compile(r"(?<!\$)\{\{(?!args\.)|\{%")

# Answers that make every optional part of the template render.
FULL_STACK = {"database": "postgres", "cache": "redis"}


@functools.cache
def questions() -> dict[str, Any]:
    """The questions of copier.yml (settings, whose keys start with '_', left out)."""
    data = yaml.safe_load(COPIER_YML.read_text())
    return {key: value for key, value in data.items() if not key.startswith("_")}


@functools.cache
def include_yaml(name: str) -> Any:
    """A data file of includes/ (the template's single sources), parsed once; do not mutate it."""
    return yaml.safe_load((REPO_ROOT / "includes" / name).read_text())


# copier.yml's framework default for each language (a Jinja expression there).
DEFAULT_FRAMEWORKS = {"node": "express", "python": "fastapi", "go": "stdlib"}


def env_vars_for(answers: dict[str, Any]) -> list[dict[str, Any]]:
    """includes/env-spec.yml narrowed to the answers, as includes/env.jinja narrows it.

    Answers not given take copier.yml's defaults.
    """
    full = {key: questions()[key].get("default") for key in ("language", "database", "cache")}
    full.update(answers)
    full.setdefault("framework", DEFAULT_FRAMEWORKS[full["language"]])
    return [
        var
        for var in include_yaml("env-spec.yml")
        if all(full.get(key) in allowed for key, allowed in (var.get("when") or {}).items())
    ]


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
    dst.mkdir(parents=True, exist_ok=True)
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


def git_commit_all(path: Path, message: str, tag: str | None = None) -> str:
    """Commit everything in the repo at path (and tag it); return the commit id."""
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", message)
    if tag:
        git(path, "tag", tag)
    return git(path, "rev-parse", "HEAD").strip()


def template_repo(dst: Path, tag: str | None = "v1") -> Path:
    """A throwaway git repo holding the template, committed (and tagged)."""
    dst.mkdir(parents=True, exist_ok=True)
    copy_template(dst)
    git(dst, "init", "-q", "-b", "main")
    git_commit_all(dst, "template", tag=tag)
    return dst


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file below root with its content (git metadata left out), to compare later."""
    if not root.exists():
        return {}
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


@dataclass
class CliResult:
    """Exit code and output of one `prodready` run."""

    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


def cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> CliResult:
    """Run `prodready` in-process with args and capture what it printed."""
    from prodready.cli import main

    capsys.readouterr()
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)


def cli_process(*args: str | Path, cwd: Path | None = None, **env: str) -> CliResult:
    """Run `python -m prodready` in a subprocess with stdin closed (no terminal)."""
    result = subprocess.run(
        [sys.executable, "-m", "prodready", *map(str, args)],
        cwd=cwd,
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    return CliResult(result.returncode, result.stdout, result.stderr)


def assert_one_line_error(result: CliResult, *fragments: str) -> str:
    """Assert exit 2 and a single `prodready: error:` line holding every fragment."""
    assert result.code == 2, (result.code, result.out, result.err)
    assert "Traceback" not in result.err
    assert len(result.err_lines) == 1, result.err
    line = result.err_lines[0]
    assert line.startswith("prodready: error: "), line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line
