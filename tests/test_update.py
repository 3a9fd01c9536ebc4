"""`prodready update` carries template changes into a project and keeps the user's edits.

Template versions come from a throwaway git repo built here and tagged v1, v2;
nothing depends on tags in the prodready repository itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import (
    answers_file,
    assert_one_line_error,
    cli,
    git,
    git_commit_all,
    git_init_commit,
    snapshot,
    template_repo,
)

USER_LINE = "# kept by the team: local scratch files\nscratch/\n"
TEMPLATE_HEADER = "# template v2: new header line\n"
DOCKERIGNORE = "template/.dockerignore"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The template as a git repo, tagged v1."""
    return template_repo(tmp_path / "template", tag="v1")


@pytest.fixture
def project(capsys: pytest.CaptureFixture[str], repo: Path, tmp_path: Path) -> Path:
    """A project rendered from v1, committed, then edited by its team and committed."""
    project = tmp_path / "shop-api"
    result = cli(capsys, "new", project, "--defaults", "--template", repo, "--data", "language=go")
    assert result.code == 0, result.err
    git_init_commit(project, "render v1")
    with (project / ".dockerignore").open("a") as handle:
        handle.write(USER_LINE)
    git_commit_all(project, "ignore scratch files")
    return project


def release_v2(repo: Path) -> None:
    """Change the template (edit a file, add one), commit and tag v2."""
    dockerignore = repo / DOCKERIGNORE
    dockerignore.write_text(TEMPLATE_HEADER + dockerignore.read_text())
    (repo / "template" / "UPGRADING.md").write_text("Added in v2.\n")
    git_commit_all(repo, "v2", tag="v2")


def test_answers_record_template_source_and_version(project: Path, repo: Path) -> None:
    recorded = answers_file(project)
    assert recorded["_src_path"] == str(repo)
    assert recorded["_commit"] == "v1"
    assert recorded["language"] == "go"


def test_update_brings_template_changes_and_keeps_user_edits(
    capsys: pytest.CaptureFixture[str], project: Path, repo: Path
) -> None:
    release_v2(repo)
    result = cli(capsys, "update", project, "--defaults")
    assert result.code == 0, result.err
    assert "(v1 -> v2)" in result.out
    text = (project / ".dockerignore").read_text()
    assert text.startswith(TEMPLATE_HEADER)
    assert USER_LINE in text
    assert (project / "UPGRADING.md").read_text() == "Added in v2.\n"
    recorded = answers_file(project)
    assert recorded["_commit"] == "v2"
    assert recorded["language"] == "go", "answers given at render time are kept"


def test_update_to_an_explicit_version(
    capsys: pytest.CaptureFixture[str], project: Path, repo: Path
) -> None:
    release_v2(repo)
    result = cli(capsys, "update", project, "--defaults", "--vcs-ref", "v1")
    assert result.code == 0, result.err
    assert "up to date" in result.out
    assert answers_file(project)["_commit"] == "v1"


def test_update_pretend_changes_nothing(
    capsys: pytest.CaptureFixture[str], project: Path, repo: Path
) -> None:
    release_v2(repo)
    before = snapshot(project)
    head = git(project, "rev-parse", "HEAD")
    result = cli(capsys, "update", project, "--defaults", "--pretend")
    assert result.code == 0, result.err
    assert "Would update" in result.out
    assert "  UPGRADING.md" in result.out.splitlines()
    assert snapshot(project) == before
    assert git(project, "rev-parse", "HEAD") == head
    assert git(project, "status", "--porcelain") == ""


def test_update_reports_conflicts(
    capsys: pytest.CaptureFixture[str], project: Path, repo: Path
) -> None:
    # The team and the template both rewrite the first line of the same file.
    ignore = project / ".dockerignore"
    ignore.write_text("# the team's header\n" + ignore.read_text().split("\n", 1)[1])
    git_commit_all(project, "own header")
    template_file = repo / DOCKERIGNORE
    template_file.write_text(
        "# the template's header\n" + template_file.read_text().split("\n", 1)[1]
    )
    git_commit_all(repo, "v2", tag="v2")
    result = cli(capsys, "update", project, "--defaults")
    assert result.code == 1, result.err
    assert "1 conflict(s)" in result.out
    assert "  .dockerignore" in result.out.splitlines()
    assert "<<<<<<<" in ignore.read_text()


def test_update_refuses_a_dirty_repo(
    capsys: pytest.CaptureFixture[str], project: Path, repo: Path
) -> None:
    release_v2(repo)
    (project / ".dockerignore").write_text("uncommitted\n")
    before = snapshot(project)
    result = cli(capsys, "update", project, "--defaults")
    assert result.code == 2
    assert "uncommitted changes; commit or stash first" in result.err_lines[0]
    assert snapshot(project) == before


def test_update_refuses_a_folder_without_answers(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    git(folder, "init", "-q", "-b", "main")
    git(folder, "commit", "-q", "--allow-empty", "-m", "empty")
    result = cli(capsys, "update", folder, "--defaults")
    assert_one_line_error(result, "has no .copier-answers.yml", "prodready new")


def test_update_refuses_a_project_outside_git(
    capsys: pytest.CaptureFixture[str], project: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / ".copier-answers.yml").write_text((project / ".copier-answers.yml").read_text())
    result = cli(capsys, "update", copy, "--defaults")
    assert_one_line_error(result, "is not in a git repository")


def test_update_rejects_unknown_answer_keys(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    result = cli(capsys, "update", project, "--defaults", "--data", "colour=blue")
    assert_one_line_error(result, "unknown answer key 'colour'")


def test_update_needs_a_versioned_template(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path
) -> None:
    # A wheel's bundled template (like this plain copy) records no _commit.
    project = tmp_path / "svc"
    assert cli(capsys, "new", project, "--defaults", "--template", template_src).code == 0
    git_init_commit(project)
    result = cli(capsys, "update", project, "--defaults")
    assert_one_line_error(result, "is not a git repository", "--template")


def test_update_with_a_bad_answer_changes_nothing(
    capsys: pytest.CaptureFixture[str], project: Path, repo: Path
) -> None:
    release_v2(repo)
    before = snapshot(project)
    result = cli(capsys, "update", project, "--defaults", "--data", "port=80")
    assert_one_line_error(result, "invalid answer port=80", "from 1024 to 65535")
    assert snapshot(project) == before
    assert git(project, "status", "--porcelain") == ""


def test_update_never_touches_files_the_team_owns(
    capsys: pytest.CaptureFixture[str], project: Path, repo: Path
) -> None:
    # README.md is in copier.yml's _skip_if_exists: the team's rewrite survives even
    # when the template's README changes underneath it.
    (project / "README.md").write_text("# shop-api\n\nOur own words.\n")
    git_commit_all(project, "our README")
    readme = repo / "template" / "README.md.jinja"
    readme.write_text(readme.read_text() + "\nA v2 paragraph.\n")
    git_commit_all(repo, "v2 README", tag="v2")
    result = cli(capsys, "update", project, "--defaults")
    assert result.code == 0, result.err
    assert (project / "README.md").read_text() == "# shop-api\n\nOur own words.\n"
