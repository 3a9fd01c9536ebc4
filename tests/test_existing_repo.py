"""Rendering into an existing directory: conflicts first, nothing clobbered silently."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from helpers import (
    CliResult,
    answers_file,
    assert_one_line_error,
    build_tree,
    cli,
    git,
    git_init_commit,
    render,
    snapshot,
)

MINE = "FROM scratch\n# the team's own Dockerfile\n"


@pytest.fixture
def existing(tmp_path: Path) -> Path:
    """A service repo with its own Dockerfile and code."""
    return build_tree(tmp_path / "svc", {"Dockerfile": MINE, "src/main.py": "print('hi')\n"})


def new(capsys: pytest.CaptureFixture[str], template_src: Path, dst: Path, *args: str) -> CliResult:
    # These folders hold no app detection recognises, so the stack is named
    # explicitly (without it, a non-empty folder is refused: test_existing_app.py).
    return cli(
        capsys,
        "new",
        dst,
        "--defaults",
        "--template",
        template_src,
        "--data",
        "language=node",
        *args,
    )


def test_conflicts_are_listed_and_nothing_is_written(
    capsys: pytest.CaptureFixture[str], template_src: Path, existing: Path
) -> None:
    before = snapshot(existing)
    result = new(capsys, template_src, existing)
    assert result.code == 2
    assert "Traceback" not in result.err
    first, *listed = result.err_lines
    assert first.startswith("prodready: error: 1 file(s)")
    assert "--overwrite" in first and "--skip-existing" in first
    assert [line.strip() for line in listed] == ["Dockerfile"]
    assert snapshot(existing) == before
    assert sorted(p.name for p in existing.parent.iterdir()) == ["svc"]


def test_overwrite_replaces_conflicts(
    capsys: pytest.CaptureFixture[str], template_src: Path, existing: Path
) -> None:
    result = new(capsys, template_src, existing, "--overwrite")
    assert result.code == 0, result.err
    assert (existing / "Dockerfile").read_text() != MINE
    assert (existing / ".copier-answers.yml").is_file()
    assert (existing / "src/main.py").read_text() == "print('hi')\n"
    assert "1 overwritten" in result.out


def test_skip_existing_keeps_the_users_files(
    capsys: pytest.CaptureFixture[str], template_src: Path, existing: Path
) -> None:
    result = new(capsys, template_src, existing, "--skip-existing")
    assert result.code == 0, result.err
    assert (existing / "Dockerfile").read_text() == MINE
    assert (existing / ".dockerignore").is_file()
    assert "1 kept (yours)" in result.out


def test_identical_files_are_not_conflicts(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path
) -> None:
    reference = render(template_src, tmp_path / "ref" / "svc")
    dst = build_tree(tmp_path / "svc", {"Dockerfile": (reference / "Dockerfile").read_text()})
    result = new(capsys, template_src, dst)
    assert result.code == 0, result.err
    assert "1 already identical" in result.out
    assert snapshot(dst) == snapshot(reference)


def test_pretend_in_existing_directory_shows_the_plan(
    capsys: pytest.CaptureFixture[str], template_src: Path, existing: Path
) -> None:
    before = snapshot(existing)
    result = new(capsys, template_src, existing, "--pretend")
    assert result.code == 0, result.err
    plan = dict(reversed(line.split()) for line in result.out.splitlines() if line.startswith("  "))
    assert plan["Dockerfile"] == "conflict"
    assert plan[".copier-answers.yml"] == "create"
    assert "a real run stops" in result.out
    assert snapshot(existing) == before
    result = new(capsys, template_src, existing, "--pretend", "--skip-existing")
    assert "  skip" in result.out
    assert snapshot(existing) == before


def test_rerender_hints_at_update(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path
) -> None:
    dst = tmp_path / "svc"
    assert new(capsys, template_src, dst).code == 0
    result = new(capsys, template_src, dst, "--data", "port=9999")
    assert result.code == 2
    assert "use 'prodready update'" in result.err_lines[0]


def test_directory_in_the_way_is_refused_even_with_overwrite(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path
) -> None:
    dst = tmp_path / "svc"
    (dst / "Dockerfile").mkdir(parents=True)
    result = new(capsys, template_src, dst, "--overwrite")
    assert result.code == 2
    assert "collide with existing folders" in result.err_lines[0]
    assert result.err_lines[1].strip() == "Dockerfile: is a directory"
    assert [p.name for p in dst.iterdir()] == ["Dockerfile"]


def test_destination_that_is_a_file_is_refused(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path
) -> None:
    dst = tmp_path / "svc"
    dst.write_text("not a folder")
    assert_one_line_error(new(capsys, template_src, dst), "is not a directory")


def test_dirty_git_repo_is_refused(
    capsys: pytest.CaptureFixture[str], template_src: Path, existing: Path
) -> None:
    git_init_commit(existing)
    (existing / "src/main.py").write_text("print('changed')\n")
    (existing / "notes.txt").write_text("untracked\n")
    before = snapshot(existing)
    result = new(capsys, template_src, existing, "--overwrite")
    assert result.code == 2
    assert "uncommitted changes; commit or stash first" in result.err_lines[0]
    assert {line.strip() for line in result.err_lines[1:]} == {"src/main.py", "notes.txt"}
    assert snapshot(existing) == before


def test_clean_git_repo_gets_the_files(
    capsys: pytest.CaptureFixture[str], template_src: Path, existing: Path
) -> None:
    git_init_commit(existing)
    result = new(capsys, template_src, existing, "--skip-existing")
    assert result.code == 0, result.err
    status = git(existing, "status", "--porcelain")
    assert "?? .copier-answers.yml" in status
    assert "Dockerfile" not in status


def test_new_nested_destination_is_created_in_one_piece(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path
) -> None:
    dst = tmp_path / "a" / "b" / "svc"
    result = new(capsys, template_src, dst)
    assert result.code == 0, result.err
    assert (dst / ".copier-answers.yml").is_file()
    assert sorted(p.name for p in dst.parent.iterdir()) == ["svc"]


def test_skip_existing_still_records_this_render(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path
) -> None:
    # The answers file describes the render; keeping a stale one would mislead `update`.
    dst = tmp_path / "svc"
    assert new(capsys, template_src, dst).code == 0
    result = new(capsys, template_src, dst, "--skip-existing", "--data", "port=4000")
    assert result.code == 0, result.err
    assert answers_file(dst)["port"] == 4000


def test_existing_destination_is_not_staged_in_its_parent(
    capsys: pytest.CaptureFixture[str],
    template_src: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Rendering into `.` must not need write access to the folder above it
    # (chmod cannot show that when the tests run as root, so watch mkdtemp).
    import tempfile

    import prodready._main

    staged_in: list[Path] = []

    def spy(*args: Any, **kwargs: Any) -> str:
        made = real(*args, **kwargs)
        staged_in.append(Path(made).parent)
        return made

    real = tempfile.mkdtemp
    monkeypatch.setattr(prodready._main.tempfile, "mkdtemp", spy)
    dst = tmp_path / "parent" / "svc"
    dst.mkdir(parents=True)
    assert new(capsys, template_src, dst).code == 0
    assert staged_in
    assert dst.parent not in staged_in
    assert (dst / ".copier-answers.yml").is_file()
