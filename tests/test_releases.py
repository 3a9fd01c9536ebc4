"""Projects in every language updated across a release history keep everything of their team's.

The history (tests/history.py) has three releases built from this template:
content changes, a renamed file, a removed file and a renamed answer key. Each
project is rendered at v0.1.0, edited by its team in every kind of file it
has, updated to v0.2.0 and then to v0.3.0.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from helpers import answers_file, cli, git, git_commit_all, git_init_commit
from history import (
    REMOVED,
    RENAMED,
    RENAMED_KEY,
    V2_DEPLOYMENT,
    V2_DOCKERIGNORE,
    V3_DOCKERIGNORE,
    V3_UPGRADING,
    build_history,
)
from prodready._releases import load_releases, parse_releases

# Three teams, as in issue 10: Node on Kubernetes, Go on Fly with a canary,
# Django with blue-green on Kubernetes and GitLab.
PROJECTS = {
    "node": {"language": "node", "k8s_namespace": "payments"},
    "go": {"language": "go", "platform": "fly", "strategy": "canary"},
    "python": {
        "language": "python",
        "framework": "django",
        "strategy": "blue-green",
        "ci": "gitlab",
        "k8s_namespace": "billing",
    },
}
# The team's files in each kind of file a project has (those a project lacks are skipped).
TEAM_EDITS = [
    "Dockerfile",
    ".dockerignore",
    "docs/deployment.md",
    RENAMED[0],
    REMOVED,
    "scripts/deploy.sh",
    ".github/workflows/ci.yml",
    ".gitlab-ci.yml",
    "fly.toml",
    "deploy/k8s/base/deployment.yaml",
    "src/server.ts",
    "cmd/server/main.go",
    "app/health.py",
]
TEAM_FILE = ("docs/team-notes.md", "# Our notes\n\nOn-call rota lives here.\n")
TEAM_README = "# Our service\n\nWritten by the team.\n"


def team_line(path: str) -> str:
    """A line the team adds at the end of path, in the file's own comment syntax."""
    if path.endswith(".md"):
        return f"\nTeam note in {path}.\n"
    if path.endswith((".ts", ".go")):
        return f"// team note in {path}\n"
    return f"# team note in {path}\n"


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The template history, and the public URL (a bare clone with the tags) it names."""
    root = tmp_path_factory.mktemp("history")
    public = root / "public" / "prodready.git"
    repo = build_history(root / "prodready", f"file://{public}")
    git(root, "clone", "-q", "--bare", str(repo), str(public))
    return repo, f"file://{public}"


@pytest.fixture(autouse=True)
def template_env(monkeypatch: pytest.MonkeyPatch, history: tuple[Path, str]) -> None:
    # prodready serves the public URL from the local history (as from its own checkout).
    monkeypatch.setenv("PRODREADY_TEMPLATE", str(history[0]))


def render_at_v1(capsys: pytest.CaptureFixture[str], dst: Path, answers: dict[str, str]) -> Path:
    data = [arg for key, value in answers.items() for arg in ("--data", f"{key}={value}")]
    result = cli(capsys, "new", dst, "--defaults", "--vcs-ref", "v0.1.0", *data)
    assert result.code == 0, result.err
    git_init_commit(dst, "render v0.1.0")
    return dst


def edit_everything(project: Path) -> dict[str, str]:
    """Make the team's edits, commit them; return path -> the line added."""
    edits = {}
    for rel in TEAM_EDITS:
        path = project / rel
        if path.is_file():
            edits[rel] = team_line(rel)
            with path.open("a") as handle:
                handle.write(edits[rel])
    (project / TEAM_FILE[0]).write_text(TEAM_FILE[1])
    (project / "README.md").write_text(TEAM_README)
    git_commit_all(project, "team edits")
    return edits


def test_release_list_of_this_repository_is_valid() -> None:
    releases = load_releases(Path(__file__).resolve().parents[1])
    assert releases is not None
    assert releases.source.startswith("https://")
    first = releases.releases[0]
    assert first.tag == "v0.1.0"
    # The commit exists in this repository (tags are made from it).
    git(Path(__file__).parent, "cat-file", "-e", f"{first.commit}^{{commit}}")


def test_release_list_rejects_versions_out_of_order() -> None:
    text = "source: x\nreleases:\n  - version: 0.2.0\n  - version: 0.1.0\n"
    with pytest.raises(Exception, match="oldest first"):
        parse_releases(text)


def test_history_is_tagged_from_the_release_list(history: tuple[Path, str]) -> None:
    repo = history[0]
    releases = load_releases(repo)
    assert releases is not None
    assert [release.tag for release in releases.releases] == ["v0.1.0", "v0.2.0", "v0.3.0"]
    for release in releases.releases:
        tagged = git(repo, "rev-parse", f"{release.tag}^{{commit}}").strip()
        assert tagged == release.commit
        # The tagged commit carries its own entry (migrations read it), without its id.
        at_tag = yaml.safe_load(git(repo, "show", f"{release.tag}:releases.yml"))
        assert str(at_tag["releases"][-1]["version"]) == str(release.version)


@pytest.mark.parametrize("name", list(PROJECTS))
def test_update_across_releases_keeps_the_teams_work(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, history: tuple[Path, str], name: str
) -> None:
    answers = PROJECTS[name]
    project = render_at_v1(capsys, tmp_path / f"{name}-svc", answers)
    recorded = answers_file(project)
    assert recorded["_src_path"] == history[1], "a URL anyone can reach, not a local path"
    assert recorded["_commit"] == "v0.1.0"
    edits = edit_everything(project)

    result = cli(capsys, "update", project, "--defaults", "--vcs-ref", "v0.2.0")
    # The team edited the removed file: it is kept, reported, and the update exits 1.
    assert result.code == 1, result.out + result.err
    assert "Changelog (v0.1.0 -> v0.2.0):" in result.out
    assert f"  - {RENAMED[0]} moved to {RENAMED[1]}" in result.out
    assert f"  {RENAMED[0]} -> {RENAMED[1]}" in result.out
    assert "kept: you edited them" in result.out
    assert f"  {REMOVED}" in result.out.splitlines()
    assert "conflict" not in result.out
    assert (project / REMOVED).read_text().endswith(edits[REMOVED])
    renamed = (project / RENAMED[1]).read_text()
    assert "# Rolling back: " in renamed, "the template's change to the renamed file"
    assert renamed.endswith(edits[RENAMED[0]]), "the team's edit followed the file"
    assert not (project / RENAMED[0]).exists()
    after = answers_file(project)
    assert after["_commit"] == "v0.2.0"
    assert after["_src_path"] == history[1]
    assert RENAMED_KEY[0] not in after
    if RENAMED_KEY[0] in answers:
        assert after[RENAMED_KEY[1]] == answers[RENAMED_KEY[0]], "the team's value carried"
    assert (project / ".dockerignore").read_text().startswith(V2_DOCKERIGNORE)
    assert V2_DEPLOYMENT in (project / "docs/deployment.md").read_text()
    assert_team_work(project, edits)
    # Everything is staged: nothing of the update is left untracked.
    assert git(project, "ls-files", "--others", "--exclude-standard") == ""
    assert git(project, "diff", "--cached", "--name-status", "-M", "HEAD").count("R") >= 1

    git(project, "rm", "-q", REMOVED)
    git_commit_all(project, "update to v0.2.0")
    del edits[REMOVED]
    result = cli(capsys, "update", project, "--defaults")
    assert result.code == 0, result.out + result.err
    assert "Changelog (v0.2.0 -> v0.3.0):" in result.out
    assert "  docs/upgrading.md" in result.out.splitlines()
    assert (project / "docs/upgrading.md").read_text() == V3_UPGRADING
    assert (project / ".dockerignore").read_text().startswith(V3_DOCKERIGNORE + V2_DOCKERIGNORE)
    edits[RENAMED[1]] = edits.pop(RENAMED[0])
    assert_team_work(project, edits)
    assert git(project, "ls-files", "--others", "--exclude-standard") == ""


def assert_team_work(project: Path, edits: dict[str, str]) -> None:
    for rel, line in edits.items():
        target = RENAMED[1] if rel == RENAMED[0] else rel
        assert line in (project / target).read_text(), f"team edit lost in {target}"
    assert (project / TEAM_FILE[0]).read_text() == TEAM_FILE[1]
    assert (project / "README.md").read_text() == TEAM_README


def test_plain_copier_update_from_the_public_url(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import copier

    project = render_at_v1(capsys, tmp_path / "svc", PROJECTS["node"])
    edits = edit_everything(project)
    copier.run_update(project, defaults=True, overwrite=True, unsafe=True, quiet=True)
    after = answers_file(project)
    assert after["_commit"] == "v0.3.0"
    assert after[RENAMED_KEY[1]] == "payments", "the migration carried the renamed answer"
    # The migration restored the removed file the team edited, and moved the renamed one.
    assert (project / REMOVED).read_text().endswith(edits[REMOVED])
    assert edits[RENAMED[0]] in (project / RENAMED[1]).read_text()
    assert (project / TEAM_FILE[0]).read_text() == TEAM_FILE[1]


def test_teammate_updates_a_clone_elsewhere(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    project = render_at_v1(capsys, tmp_path / "laptop-a" / "svc", PROJECTS["go"])
    other = tmp_path / "laptop-b" / "work" / "svc"
    git(tmp_path, "clone", "-q", str(project), str(other))
    result = cli(capsys, "update", other, "--defaults", "--vcs-ref", "v0.2.0")
    assert result.code == 0, result.out + result.err
    assert answers_file(other)["_commit"] == "v0.2.0"
    assert answers_file(project)["_commit"] == "v0.1.0", "the original clone is untouched"
