"""`prodready new` into a repository that already holds an app: detect it, fit to it, keep it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import (
    CliResult,
    assert_one_line_error,
    build_tree,
    cli,
    git,
    git_init_commit,
    questions,
    snapshot,
)
from prodready.cli import main
from repo_corpus import CORPUS, build_repo

# Files that would make a second app, a second dependency manifest or lockfile,
# or app tests: none may appear in an existing repo.
SECOND_APP = {
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "go.mod",
    "pyproject.toml",
    "requirements.txt",
    "requirements-dev.txt",
    "manage.py",
    "gunicorn.conf.py",
    "eslint.config.js",
}
SECOND_APP_DIRS = ("src/", "test/", "tests/", "cmd/", "internal/", "app/", "migrations/")


@dataclass
class Rendered:
    before: dict[str, bytes]
    after: dict[str, bytes]
    result: CliResult

    @property
    def answers(self) -> dict[str, Any]:
        return yaml.safe_load(self.after[".copier-answers.yml"])

    @property
    def created(self) -> set[str]:
        return set(self.after) - set(self.before)


def new(capsys: pytest.CaptureFixture[str], template_src: Path, dst: Path, *args: str) -> CliResult:
    return cli(capsys, "new", dst, "--defaults", "--template", template_src, *args)


@pytest.fixture(scope="module")
def rendered(template_src: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rendered]:
    """Each corpus repo, committed, then rendered into with the defaults (renders shared)."""
    out: dict[str, Rendered] = {}
    root = tmp_path_factory.mktemp("existing-apps")
    for kind in CORPUS:
        repo = build_repo(root / kind, kind)
        before = snapshot(repo)
        code = main(
            ["new", str(repo), "--defaults", "--template", str(template_src), "--skip-existing"]
        )
        out[kind] = Rendered(before, snapshot(repo), CliResult(code, "", ""))
    return out


@pytest.mark.parametrize("kind", sorted(CORPUS))
def test_render_into_an_existing_app_adds_no_second_app(
    rendered: dict[str, Rendered], kind: str
) -> None:
    result = rendered[kind]
    assert result.result.code == 0
    second = sorted(
        name
        for name in result.created
        if name in SECOND_APP or name.startswith(SECOND_APP_DIRS) or name.endswith("conftest.py")
    )
    assert second == []
    lockfiles = {"package-lock.json", "pnpm-lock.yaml", "yarn.lock", "poetry.lock", "uv.lock"}
    assert not (result.created & lockfiles)


@pytest.mark.parametrize("kind", sorted(CORPUS))
def test_the_apps_own_files_are_untouched(rendered: dict[str, Rendered], kind: str) -> None:
    result = rendered[kind]
    changed = sorted(
        name for name in result.before if result.after.get(name) != result.before[name]
    )
    assert changed == []


# Recorded answer -> value, per corpus repo: what detection found, kept for `update`.
RECORDED: dict[str, dict[str, Any]] = {
    "express-ts-npm": {
        "language": "node",
        "framework": "express",
        "port": 4000,
        "package_manager": "npm",
        "lockfile": "package-lock.json",
        "runtime_version": ">=18.17",
        "install_command": "npm ci",
        "build_command": "npm run build",
        "start_command": "node dist/index.js",
        "test_command": "npm run test",
        "build_output": "dist",
        "health_path": "/health-check",
        "port_env": "SERVER_PORT",
        "env_vars": ["DATABASE_URL", "LOG_LEVEL", "SERVER_PORT"],
    },
    "fastify-no-lockfile": {
        "framework": "fastify",
        "package_manager": "npm",
        "lockfile": "",
        "install_command": "npm install",
        "test_command": "",
        "port": 3100,
        "health_path": "/livez",
    },
    "express-pnpm": {"package_manager": "pnpm", "lockfile": "pnpm-lock.yaml", "port": 8080},
    "go-chi-cmd": {
        "language": "go",
        "framework": "chi",
        "go_module": "gitlab.example.com/team/orders",
        "runtime_version": "1.22.5",
        "start_command": "./cmd/orders-api",
        "port": 9090,
        "port_env": "SERVER_PORT",
        "health_path": "/livez",
        "env_vars": ["ORDERS_DATABASE_URL", "SERVER_PORT"],
    },
    "fastapi-poetry": {
        "framework": "fastapi",
        "package_manager": "poetry",
        "app_module": "quotes.main:app",
        "test_command": "poetry run pytest",
        "health_path": "/health",
    },
    "django-split-requirements": {
        "framework": "django",
        "package_manager": "pip",
        "app_module": "mysite.wsgi:application",
        "runtime_version": "3.9.18",
        "install_command": "pip install -r requirements/prod.txt",
        "health_path": "/healthz",
    },
    "flask-pip-tools": {"framework": "flask", "package_manager": "pip-tools", "port": 5050},
    "starlette-uv": {"framework": "other", "package_manager": "uv", "port": 8001},
    "koa-docker-ci": {"framework": "other", "package_manager": "yarn", "port_env": "HTTP_PORT"},
}


@pytest.mark.parametrize("kind", sorted(RECORDED))
def test_detected_answers_are_recorded_for_update(rendered: dict[str, Rendered], kind: str) -> None:
    answers = rendered[kind].answers
    assert answers["existing_app"] is True
    assert {key: answers.get(key) for key in RECORDED[kind]} == RECORDED[kind]


def test_every_recorded_answer_is_a_question(rendered: dict[str, Rendered]) -> None:
    for result in rendered.values():
        assert {key for key in result.answers if not key.startswith("_")} <= set(questions())


def test_a_new_service_records_no_existing_app_answers(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path
) -> None:
    assert new(capsys, template_src, tmp_path / "fresh", "--data", "language=go").code == 0
    recorded = yaml.safe_load((tmp_path / "fresh/.copier-answers.yml").read_text())
    existing_only = {"existing_app", "package_manager", "start_command", "go_module", "env_vars"}
    assert not existing_only & set(recorded)
    assert "framework" not in recorded


def test_detection_is_printed_before_the_plan_in_pretend(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path
) -> None:
    repo = build_repo(tmp_path / "orders", "go-chi-cmd")
    before = snapshot(repo)
    result = new(capsys, template_src, repo, "--pretend")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith("Detected an existing go app in ")
    shown = {
        line.split()[0]: line.split()[1]
        for line in lines[1:]
        if line.startswith("  ") and "[" in line
    }
    assert shown["go_module"] == "gitlab.example.com/team/orders"
    assert shown["framework"] == "chi"
    assert "[go.mod:1, high]" in next(line for line in lines if "go_module" in line)
    assert lines.index(next(line for line in lines if line.startswith("Pretend:"))) > 1
    assert snapshot(repo) == before


def test_an_answer_contradicting_the_app_is_refused(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path
) -> None:
    repo = build_repo(tmp_path / "mysite", "django-split-requirements")
    before = snapshot(repo)
    result = new(capsys, template_src, repo, "--data", "language=node")
    assert_one_line_error(
        result,
        "--data language=node contradicts the app",
        "found python (manage.py)",
        "--ignore-detected",
    )
    assert snapshot(repo) == before


def test_ignore_detected_lets_the_answer_win(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path
) -> None:
    repo = build_repo(tmp_path / "catalog", "fastify-no-lockfile")
    result = new(
        capsys, template_src, repo, "--data", "port=8000", "--ignore-detected", "--pretend"
    )
    assert result.code == 0, result.err
    assert (
        "  port             3100  [server.js:8, high]  [your answer wins]"
        in result.out.splitlines()
    )


def test_a_framework_contradiction_names_the_detected_one(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path
) -> None:
    repo = build_repo(tmp_path / "gateway", "koa-docker-ci")
    result = new(capsys, template_src, repo, "--data", "framework=express")
    assert_one_line_error(result, "--data framework=express", "found koa (package.json:8)")


def test_a_folder_with_files_but_no_app_is_refused(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path
) -> None:
    repo = build_tree(tmp_path / "infra", {"README.md": "# infra\n", "scripts/run.sh": "echo\n"})
    git_init_commit(repo)
    before = snapshot(repo)
    result = new(capsys, template_src, repo)
    assert_one_line_error(result, "nothing detected in", "--data language=node|go|python")
    assert snapshot(repo) == before


def test_an_empty_git_repo_still_gets_a_new_service(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path
) -> None:
    repo = tmp_path / "fresh"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    assert new(capsys, template_src, repo).code == 0
    assert (repo / "package.json").is_file()


def test_overwrite_never_replaces_the_apps_files(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path
) -> None:
    repo = build_repo(tmp_path / "gateway", "koa-docker-ci")
    build_tree(repo, {"README.md": "# gateway\n", ".gitignore": "node_modules\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "docs")
    before = snapshot(repo)
    result = new(capsys, template_src, repo, "--overwrite")
    assert result.code == 0, result.err
    after = snapshot(repo)
    assert {name: after[name] for name in before} == before
    assert "overwritten" not in result.out


def test_a_repo_rendered_as_a_new_service_is_not_treated_as_an_existing_app(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path
) -> None:
    dst = tmp_path / "svc"
    assert new(capsys, template_src, dst).code == 0
    result = new(capsys, template_src, dst, "--skip-existing", "--pretend")
    assert result.code == 0, result.err
    assert "Detected an existing" not in result.out
