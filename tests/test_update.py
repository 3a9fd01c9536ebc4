"""`prodready update` carries template changes into a project and keeps the user's edits.

Template versions come from a throwaway git repo built here and tagged v1, v2;
nothing depends on tags in the prodready repository itself.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
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
from history import rename_key

USER_LINE = "# kept by the team: local scratch files\nscratch/\n"
TEMPLATE_HEADER = "# template v2: new header line\n"
DOCKERIGNORE = "template/.dockerignore.jinja"


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


def test_update_keeps_a_team_edited_file_the_template_deletes(
    capsys: pytest.CaptureFixture[str], project: Path, repo: Path
) -> None:
    # No release list, no migration: Copier alone would delete the team's edits.
    readiness = project / "docs/production-readiness.md"
    readiness.write_text(readiness.read_text() + "\nOur launch sign-off lives here.\n")
    git_commit_all(project, "sign-off notes")
    git(repo, "rm", "-q", "template/docs/production-readiness.md.jinja")
    git_commit_all(repo, "v2 drops the checklist", tag="v2")
    result = cli(capsys, "update", project, "--defaults")
    assert result.code == 1, result.out + result.err
    assert "kept: you edited them, the new version no longer renders them:" in result.out
    assert "  docs/production-readiness.md" in result.out.splitlines()
    assert readiness.read_text().endswith("Our launch sign-off lives here.\n")
    assert answers_file(project)["_commit"] == "v2"


def test_update_deletes_an_unedited_file_the_template_drops(
    capsys: pytest.CaptureFixture[str], project: Path, repo: Path
) -> None:
    git(repo, "rm", "-q", "template/docs/production-readiness.md.jinja")
    git_commit_all(repo, "v2 drops the checklist", tag="v2")
    result = cli(capsys, "update", project, "--defaults")
    assert result.code == 0, result.out + result.err
    assert "deleted (the template dropped them; you had not edited them):" in result.out
    assert not (project / "docs/production-readiness.md").exists()


def test_update_reports_an_answer_whose_question_is_gone(
    capsys: pytest.CaptureFixture[str], project: Path, repo: Path
) -> None:
    answers = project / ".copier-answers.yml"
    answers.write_text(
        answers.read_text().replace("k8s_namespace: shop-api", "k8s_namespace: payments")
    )
    git_commit_all(project, "deploy to payments")
    rename_key(repo, "k8s_namespace", "kube_namespace")
    git_commit_all(repo, "v2 renames the key, with no migration", tag="v2")
    result = cli(capsys, "update", project, "--defaults")
    assert result.code == 1, result.out + result.err
    assert "answers dropped: no longer questions, and no release renamed them:" in result.out
    assert "  k8s_namespace: 'payments'" in result.out.splitlines()


def test_update_stages_new_files(
    capsys: pytest.CaptureFixture[str], project: Path, repo: Path
) -> None:
    release_v2(repo)
    assert cli(capsys, "update", project, "--defaults").code == 0
    assert git(project, "ls-files", "--others", "--exclude-standard") == ""
    assert "A  UPGRADING.md" in git(project, "status", "--porcelain").splitlines()


def collide_on_first_line(project: Path, repo: Path) -> None:
    """The team and the template v2 both rewrite the first line of .dockerignore."""
    ignore = project / ".dockerignore"
    ignore.write_text("# the team's header\n" + ignore.read_text().split("\n", 1)[1])
    git_commit_all(project, "own header")
    template_file = repo / DOCKERIGNORE
    template_file.write_text(
        "# the template's header\n" + template_file.read_text().split("\n", 1)[1]
    )
    (repo / "template" / "UPGRADING.md").write_text("Added in v2.\n")
    git_commit_all(repo, "v2", tag="v2")


def test_update_pretend_shows_the_plan_a_real_run_executes(
    capsys: pytest.CaptureFixture[str], project: Path, repo: Path
) -> None:
    collide_on_first_line(project, repo)
    before = snapshot(project)
    pretend = cli(capsys, "update", project, "--defaults", "--pretend")
    assert pretend.code == 1, "a predicted conflict is not a success"
    assert snapshot(project) == before
    assert git(project, "status", "--porcelain") == ""
    real = cli(capsys, "update", project, "--defaults")
    assert real.code == 1
    plan = [line for line in pretend.out.splitlines() if line.startswith("  ")]
    done = [line for line in real.out.splitlines() if line.startswith("  ") and "->" not in line]
    assert plan == done
    assert "  UPGRADING.md" in plan and "  .dockerignore" in plan
    # The conflicted file is unmerged in the index: `git commit` waits for its resolution.
    assert ".dockerignore" in git(project, "diff", "--name-only", "--diff-filter=U")


def test_update_reports_a_rej_file_that_gitignore_hides(
    capsys: pytest.CaptureFixture[str], project: Path, repo: Path
) -> None:
    (project / ".gitignore").write_text("*.rej\n")
    git_commit_all(project, "ignore rejects")
    collide_on_first_line(project, repo)
    result = cli(capsys, "update", project, "--defaults", "--conflict", "rej")
    assert result.code == 1, result.out + result.err
    assert "  .dockerignore" in result.out.splitlines()
    assert (project / ".dockerignore.rej").is_file()
    assert ".dockerignore.rej" in git(project, "ls-files")


def test_update_with_a_failing_migration_changes_nothing(
    capsys: pytest.CaptureFixture[str], project: Path, repo: Path
) -> None:
    add_migration(repo, "exit 3")
    release_v2(repo)
    before = snapshot(project)
    result = cli(capsys, "update", project, "--defaults")
    assert result.code == 2, result.out + result.err
    assert snapshot(project) == before
    assert git(project, "status", "--porcelain") == ""


def add_migration(repo: Path, command: str) -> None:
    """Make the next release run a shell command as a before-migration."""
    config = repo / "copier.yml"
    entry = (
        f"_migrations:\n  - version: v2\n    command: {json.dumps(command)}\n"
        "    when: \"{{ _stage == 'before' }}\"\n"
    )
    config.write_text(config.read_text().replace("_migrations: []\n", entry))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_update_leaves_the_project_as_it_was(
    project: Path, repo: Path, tmp_path: Path, signum: int
) -> None:
    started = tmp_path / "migration-started"
    add_migration(repo, f"touch {started} && sleep 30")
    release_v2(repo)
    before = snapshot(project)
    head = git(project, "rev-parse", "HEAD")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    update = subprocess.Popen(
        [sys.executable, "-m", "prodready", "update", str(project), "--defaults"],
        env={**os.environ, "TMPDIR": str(scratch)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not started.exists():
        assert update.poll() is None, update.communicate()
        assert time.monotonic() < deadline, "the migration never started"
        time.sleep(0.1)
    update.send_signal(signum)
    _out, err = update.communicate(timeout=60)
    assert update.returncode == 130, err
    assert "aborted; nothing was written" in err
    assert snapshot(project) == before
    assert git(project, "rev-parse", "HEAD") == head
    assert git(project, "status", "--porcelain") == ""
    assert list(scratch.iterdir()) == [], "temporary clones left behind"


def test_update_refreshes_the_template_block_of_the_readme(
    capsys: pytest.CaptureFixture[str], project: Path, repo: Path
) -> None:
    readme = project / "README.md"
    team_text = "Our service talks to the ledger; ask #payments before changing it.\n\n"
    text = readme.read_text()
    begin = text.index("<!-- prodready:begin")
    readme.write_text(text[:begin] + team_text + text[begin:] + "\n## Our on-call\n\nPage Sam.\n")
    git_commit_all(project, "our README text")
    template_readme = repo / "template" / "README.md.jinja"
    template_readme.write_text(
        template_readme.read_text().replace(
            "## Deploying\n", "## Deploying\n\nRead the v2 deployment notes first.\n"
        )
    )
    git_commit_all(repo, "v2 README", tag="v2")
    result = cli(capsys, "update", project, "--defaults")
    assert result.code == 0, result.out + result.err
    updated = readme.read_text()
    assert "Read the v2 deployment notes first." in updated
    assert team_text in updated
    assert updated.endswith("## Our on-call\n\nPage Sam.\n")
    assert updated.count("<!-- prodready:begin") == 1


def run_template_update(project: Path, body: Path) -> subprocess.CompletedProcess[str]:
    """Run the rendered CI's update script with this environment's prodready."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(
        [str(project / "scripts/template-update.sh"), str(body)],
        cwd=project,
        env={**os.environ, "PATH": path, "PRODREADY_SPEC": "none"},
        capture_output=True,
        text=True,
        check=False,
    )


def test_ci_update_script_commits_a_branch_and_lists_every_conflict(
    project: Path, repo: Path, tmp_path: Path
) -> None:
    body = tmp_path / "body.md"
    up_to_date = run_template_update(project, body)
    assert up_to_date.returncode == 0, up_to_date.stderr
    assert up_to_date.stdout == ""
    (project / ".gitignore").write_text("*.rej\n")
    git_commit_all(project, "ignore rejects")
    collide_on_first_line(project, repo)
    result = run_template_update(project, body)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "template-update/v2"
    assert git(project, "rev-parse", "--abbrev-ref", "HEAD").strip() == "template-update/v2"
    assert git(project, "status", "--porcelain") == ""
    text = body.read_text()
    assert "**Needs a person**" in text
    assert "1 conflict(s) between your edits and the template:" in text
    assert ".dockerignore:1:<<<<<<< before updating" in text
    assert "  UPGRADING.md" in text.splitlines()
