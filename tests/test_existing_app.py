"""`prodready new` into a repository that already holds an app: detect it, fit to it, keep it."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from dockerfile_model import parse_stages
from helpers import (
    CliResult,
    assert_one_line_error,
    build_tree,
    cli,
    git,
    git_commit_all,
    git_init_commit,
    questions,
    require_tool,
    snapshot,
    template_repo,
)
from prodready.cli import main
from repo_corpus import CORPUS, build_repo
from servers import free_port
from service_runner import Service, get

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
    path: Path
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
        out[kind] = Rendered(repo, before, snapshot(repo), CliResult(code, "", ""))
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
    "koa-docker-ci": {
        "framework": "koa",
        "package_manager": "yarn",
        "port_env": "HTTP_PORT",
        "health_addin": False,
    },
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


# --- The deployment layer, fitted to the app ---------------------------------

FITTED = sorted(set(CORPUS) - {"koa-docker-ci"})  # koa keeps its own Dockerfile


@pytest.mark.parametrize("kind", FITTED)
def test_the_dockerfile_is_hadolint_clean(rendered: dict[str, Rendered], kind: str) -> None:
    hadolint = require_tool("hadolint")
    dockerfile = rendered[kind].path / "Dockerfile"
    result = subprocess.run(
        [hadolint, "--no-color", "-t", "warning", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("kind", FITTED)
def test_the_dockerfile_copies_only_what_exists_and_runs_the_apps_commands(
    rendered: dict[str, Rendered], kind: str
) -> None:
    result = rendered[kind]
    answers = result.answers
    stages = parse_stages(result.path / "Dockerfile")
    for stage in stages:
        for copy in stage.all("COPY"):
            if any(flag.startswith("--from") for flag in copy.flags):
                continue
            for source in copy.value[:-1]:
                assert source == "." or source in result.before, (kind, source)
    runs = [" ".join(run.value) for stage in stages for run in stage.all("RUN")]
    runtime = stages[-1]
    assert runtime.all("EXPOSE")[0].value == (str(answers["port"]),)
    assert runtime.pairs("ENV")[answers["port_env"]] == str(answers["port"])
    if answers["language"] == "go":
        assert any(run.endswith(f"-o /out/server {answers['start_command']}") for run in runs)
        assert runtime.last("ENTRYPOINT").value == ("/server",)
        return
    start = runtime.last("CMD").value
    command = answers["start_command"]
    assert start == (
        ("/bin/sh", "-c", f"exec {command}") if "$" in command else tuple(command.split())
    )
    if answers["language"] == "node":
        assert answers["install_command"] in runs
        if answers["build_command"]:
            assert any(run.startswith(answers["build_command"]) for run in runs)


def test_the_go_image_is_not_older_than_the_modules_go_line(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path
) -> None:
    files = dict(CORPUS["go-chi-cmd"])
    files["go.mod"] = (
        files["go.mod"]
        .replace("go 1.22", "go 1.27")
        .replace("toolchain go1.22.5", "toolchain go1.27.3")
    )
    repo = build_tree(tmp_path / "orders", files)
    git_init_commit(repo)
    assert new(capsys, template_src, repo).code == 0
    stages = parse_stages(repo / "Dockerfile")
    assert stages[0].base == "golang:1.27.3-bookworm"


@pytest.mark.parametrize("kind", FITTED)
def test_manifests_probe_the_apps_health_route_and_port_variable(
    rendered: dict[str, Rendered], kind: str
) -> None:
    result = rendered[kind]
    answers = result.answers
    base = result.path / "deploy/k8s/base"
    workload = next(
        doc
        for doc in yaml.safe_load_all((base / "workload.yaml").read_text())
        if doc and doc["kind"] == "Deployment"
    )
    container = workload["spec"]["template"]["spec"]["containers"][0]
    probes = {
        key: container[key]["httpGet"]["path"]
        for key in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    assert set(probes.values()) == {answers["health_path"]}
    kustomization = yaml.safe_load((base / "kustomization.yaml").read_text())
    literals = [
        item for generator in kustomization["configMapGenerator"] for item in generator["literals"]
    ]
    assert f"{answers['port_env']}={answers['port']}" in literals
    secret_refs = {env["name"] for env in container.get("env", [])}
    assert secret_refs == set(answers["env_vars"]) - {answers["port_env"]}
    smoke = (result.path / "scripts/smoke-test.sh").read_text()
    assert f'readonly PATHS=("{answers["health_path"]}")' in smoke


def test_an_existing_dockerfile_and_ci_are_kept_and_reported(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path
) -> None:
    repo = build_repo(tmp_path / "gateway", "koa-docker-ci")
    result = new(capsys, template_src, repo, "--pretend")
    plan = {
        line.split()[1]: line.split()[0]
        for line in result.out.splitlines()
        if line.startswith("  ") and len(line.split()) == 2
    }
    assert plan["Dockerfile"] == "skip"
    # Its CI is followed, not duplicated: no ci.yml is rendered at all.
    assert ".github/workflows/ci.yml" not in plan
    assert plan[".github/workflows/deploy.yml"] == "create"


# --- The app's own build and tests give the same result after the render -----


def _run(repo: Path, *argv: str, **env: str) -> tuple[int, str]:
    done = subprocess.run(
        list(argv),
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
        timeout=600,
    )
    return done.returncode, done.stdout + done.stderr


def _before_and_after(
    tmp_path: Path, rendered: dict[str, Rendered], kind: str
) -> tuple[Path, Path]:
    before = build_repo(tmp_path / "before" / kind, kind, commit=False)
    return before, rendered[kind].path


def test_go_build_and_test_are_unchanged(rendered: dict[str, Rendered], tmp_path: Path) -> None:
    go = require_tool("go")
    before, after = _before_and_after(tmp_path, rendered, "go-chi-cmd")
    env = {"GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"}
    for argv in ((go, "build", "./..."), (go, "test", "./...")):
        code_before, out_before = _run(before, *argv, **env)
        assert code_before == 0, out_before
        code_after, out_after = _run(after, *argv, **env)
        assert code_after == 0, out_after
    code, listed = _run(after, go, "list", "./...", **env)
    assert code == 0
    assert sorted(listed.split()) == sorted(_run(before, go, "list", "./...", **env)[1].split())


def test_node_tests_are_unchanged(rendered: dict[str, Rendered], tmp_path: Path) -> None:
    node = require_tool("node")
    before, after = _before_and_after(tmp_path, rendered, "express-pnpm")
    results = []
    for repo in (before, after):
        code, out = _run(repo, node, "--test")
        assert code == 0, out
        results.append(
            [line for line in out.splitlines() if line.startswith(("# tests", "# pass", "# fail"))]
        )
    assert results[0] == results[1]


@pytest.mark.parametrize(
    "kind", ["fastapi-poetry", "starlette-uv", "flask-pip-tools", "django-split-requirements"]
)
def test_python_tests_are_unchanged(
    rendered: dict[str, Rendered], tmp_path: Path, kind: str
) -> None:
    before, after = _before_and_after(tmp_path, rendered, kind)
    outcomes = []
    for repo in (before, after):
        code, out = _run(
            repo,
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
        )
        outcomes.append(
            (code, out.strip().splitlines()[-1].split(" in ")[0] if out.strip() else "")
        )
    assert outcomes[0] == outcomes[1]
    assert not any(name.endswith("conftest.py") for name in rendered[kind].created)


# --- CI fitted to the app, and chained onto the repository's own CI -----------

RENDERED_WORKFLOWS = ("deploy.yml", "preview.yml", "rollback.yml")


def _workflow(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))
    return data


def test_deploy_follows_the_repos_own_ci_instead_of_adding_one(
    rendered: dict[str, Rendered],
) -> None:
    result = rendered["koa-docker-ci"]
    assert result.answers["ci_workflow"] == "CI"
    assert result.after[".github/workflows/ci.yml"] == result.before[".github/workflows/ci.yml"]
    deploy = _workflow(result.path / ".github/workflows/deploy.yml")
    assert deploy["on"] == {
        "workflow_run": {"workflows": ["CI"], "types": ["completed"], "branches": ["main"]}
    }
    assert not any("uses" in job for job in deploy["jobs"].values())
    build = deploy["jobs"]["build"]
    assert "workflow_run.conclusion == 'success'" in build["if"]
    # The commit the repository's own CI checked, promoted by digest.
    assert build["outputs"]["image"] == (
        "${{ env.IMAGE }}:${{ github.event.workflow_run.head_sha }}"
        "@${{ steps.build.outputs.digest }}"
    )


def test_a_repo_without_ci_gets_one_running_only_its_own_commands(
    rendered: dict[str, Rendered],
) -> None:
    for kind in ("express-pnpm", "go-chi-cmd", "fastapi-poetry", "fastify-no-lockfile"):
        result = rendered[kind]
        answers = result.answers
        assert answers["ci_workflow"] == ""
        ci = _workflow(result.path / ".github/workflows/ci.yml")
        runs = [step["run"] for step in ci["jobs"]["checks"]["steps"] if "run" in step]
        wanted = [
            answers[key]
            for key in ("install_command", "lint_command", "test_command", "build_command")
            if answers[key]
        ]
        tools = [run for run in runs if run not in wanted]
        assert runs[len(tools) :] == wanted, kind
        assert all(run.startswith(("npm install --global", "pip install")) for run in tools), kind
        deploy = _workflow(result.path / ".github/workflows/deploy.yml")
        assert deploy["jobs"]["checks"]["uses"] == "./.github/workflows/ci.yml"
        assert "workflow_call" in ci["on"]


@pytest.mark.parametrize("kind", ["koa-docker-ci", "go-chi-cmd", "express-pnpm"])
def test_rendered_workflows_pass_actionlint_and_zizmor(
    rendered: dict[str, Rendered], kind: str
) -> None:
    actionlint = require_tool("actionlint")
    zizmor = require_tool("zizmor")
    result = rendered[kind]
    ours = [
        f".github/workflows/{name}"
        for name in (*RENDERED_WORKFLOWS, "ci.yml")
        if f".github/workflows/{name}" in result.created
    ]
    lint = subprocess.run(
        [actionlint, "-no-color", *ours],
        cwd=result.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    audit = subprocess.run(
        [zizmor, "--offline", "--min-severity", "medium", *ours],
        cwd=result.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr


# --- The Go health add-in, for an app that serves no health route yet ---------


def test_go_app_without_a_health_route_gets_the_add_in_inside_its_module(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path
) -> None:
    go = require_tool("go")
    files = dict(CORPUS["go-chi-cmd"])
    router = files["internal/httpapi/router.go"]
    files["internal/httpapi/router.go"] = router.replace('r.Get("/livez"', 'r.Get("/orders/count"')
    repo = build_tree(tmp_path / "orders", files)
    git_init_commit(repo)
    result = new(capsys, template_src, repo)
    assert result.code == 0, result.err
    assert sorted(p.name for p in (repo / "internal/health").iterdir()) == [
        "health.go",
        "health_test.go",
    ]
    assert not (repo / "internal/server").exists()
    answers = yaml.safe_load((repo / ".copier-answers.yml").read_text())
    assert (answers["health_addin"], answers["health_path"]) == (True, "/health")
    # The printed wiring step is the documented one, and it names the app's module.
    printed = result.out.split("Wire the health add-in into the app")[1].splitlines()[1:5]
    doc = (repo / "docs/existing-app.md").read_text().split("```go\n")[1].split("\n```")[0]
    assert [line.strip() for line in printed] == doc.splitlines()
    assert doc.splitlines()[0] == 'import "gitlab.example.com/team/orders/internal/health"'
    assert doc.splitlines()[2] == 'r.Get("/health", checker.Live)'
    workload = (repo / "deploy/k8s/base/workload.yaml").read_text()
    assert "path: /health/ready" in workload
    env = {"GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"}
    for argv in ((go, "build", "./..."), (go, "test", "./...")):
        code, out = _run(repo, *argv, **env)
        assert code == 0, out
    code, out = _run(repo, go, "test", "./internal/health/", **env)
    assert code == 0 and "ok" in out


def test_update_keeps_fitting_the_app(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    template = template_repo(tmp_path / "template", tag="v1")
    repo = build_repo(tmp_path / "orders", "go-chi-cmd")
    assert new(capsys, template, repo).code == 0
    git_commit_all(repo, "prodready v1")
    recorded = yaml.safe_load((repo / ".copier-answers.yml").read_text())
    # v2 of the template changes a deployment file.
    dockerignore = template / "template/.dockerignore.jinja"
    dockerignore.write_text("# v2\n" + dockerignore.read_text())
    git_commit_all(template, "v2", tag="v2")
    before = snapshot(repo)
    result = cli(capsys, "update", repo, "--defaults")
    assert result.code == 0, result.err
    after = snapshot(repo)
    assert after[".dockerignore"].startswith(b"# v2\n")
    updated = yaml.safe_load(after[".copier-answers.yml"])
    assert {k: v for k, v in updated.items() if k != "_commit"} == {
        k: v for k, v in recorded.items() if k != "_commit"
    }
    assert updated["_commit"] == "v2"
    # Still no second app, and the app's own files as they were.
    assert not {"cmd/server/main.go", "internal/server/server.go"} & set(after)
    assert {name: after[name] for name in CORPUS["go-chi-cmd"]} == {
        name: before[name] for name in CORPUS["go-chi-cmd"]
    }


# --- GitLab CI fitted to the app, and included by the repository's own pipeline --

OWN_GITLAB_CI = """\
stages: [test]

test:
  stage: test
  image: node:20
  script:
    - corepack enable
    - pnpm install --frozen-lockfile
    - pnpm test
"""


def _gitlab_jobs(pipeline: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The visible jobs, each with what it `extends` merged in."""
    reserved = {"workflow", "stages", "variables", "default", "include"}

    def resolved(job: dict[str, Any]) -> dict[str, Any]:
        parent = job.get("extends")
        return {**(resolved(pipeline[parent]) if parent else {}), **job}

    return {
        name: resolved(job)
        for name, job in pipeline.items()
        if name not in reserved and isinstance(job, dict) and not name.startswith(".")
    }


def test_a_repo_with_its_own_gitlab_pipeline_keeps_it_and_gets_deploy_jobs_to_include(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path
) -> None:
    files = {**CORPUS["express-pnpm"], ".gitlab-ci.yml": OWN_GITLAB_CI}
    repo = build_tree(tmp_path / "notifier", files)
    git_init_commit(repo)
    result = new(capsys, template_src, repo)
    assert result.code == 0, result.err
    # Reported before anything is written, and recorded for update.
    assert "  ci_workflow      .gitlab-ci.yml" in result.out.splitlines()
    answers = yaml.safe_load((repo / ".copier-answers.yml").read_text())
    assert (answers["ci"], answers["ci_workflow"]) == ("gitlab", ".gitlab-ci.yml")
    assert (repo / ".gitlab-ci.yml").read_text() == OWN_GITLAB_CI
    assert not (repo / ".github").exists()
    ours = yaml.safe_load((repo / ".gitlab/prodready.gitlab-ci.yml").read_text())
    # No second pipeline: no checks, no workflow rules, no stage list of its own.
    assert not {"checks", "workflow", "stages"} & set(ours)
    jobs = _gitlab_jobs(ours)
    assert "deploy-staging" in jobs and "build" in jobs
    # The repository's checks gate the deploy by stage order: nothing skips them with `needs`.
    assert "needs" not in jobs["deploy-staging"]
    # Included as docs/existing-app.md says, every job's stage exists.
    doc = (repo / "docs/existing-app.md").read_text()
    snippet = yaml.safe_load(doc.split("```yaml\n")[1].split("```")[0])
    assert snippet["include"] == [{"local": ".gitlab/prodready.gitlab-ci.yml"}]
    stages = ["test", *snippet["stages"]]
    assert {job["stage"] for job in jobs.values()} <= set(stages)
    check_jsonschema = require_tool("check-jsonschema")
    ours_path = str(repo / ".gitlab/prodready.gitlab-ci.yml")
    lint = subprocess.run(
        [check_jsonschema, "--builtin-schema", "vendor.gitlab-ci", ours_path],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_a_repo_without_ci_gets_a_gitlab_pipeline_running_its_own_commands(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path
) -> None:
    repo = build_repo(tmp_path / "quotes", "fastapi-poetry")
    result = new(capsys, template_src, repo, "--data", "ci=gitlab")
    assert result.code == 0, result.err
    answers = yaml.safe_load((repo / ".copier-answers.yml").read_text())
    assert answers["ci_workflow"] == ""
    pipeline = yaml.safe_load((repo / ".gitlab-ci.yml").read_text())
    checks = pipeline["checks"]
    assert checks["script"] == ["poetry install --no-interaction", "poetry run pytest"]
    assert checks["before_script"] == ["pip install poetry==1.8.5"]
    assert checks["cache"]["key"]["files"] == ["poetry.lock"]
    # The app's own runtime: the image its Dockerfile builds on.
    assert checks["image"] == parse_stages(repo / "Dockerfile")[0].base
    assert not (repo / ".gitlab").exists()
    check_jsonschema = require_tool("check-jsonschema")
    lint = subprocess.run(
        [check_jsonschema, "--builtin-schema", "vendor.gitlab-ci", str(repo / ".gitlab-ci.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_a_pnpm_repo_gitlab_checks_install_its_package_manager(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path
) -> None:
    repo = build_repo(tmp_path / "notifier", "express-pnpm")
    assert new(capsys, template_src, repo, "--data", "ci=gitlab").code == 0
    checks = yaml.safe_load((repo / ".gitlab-ci.yml").read_text())["checks"]
    assert checks["before_script"] == [
        "npm install --global --force --no-audit --no-fund pnpm@9.15.0"
    ]
    assert checks["script"] == ["pnpm install --frozen-lockfile", "pnpm run test"]
    assert checks["cache"]["key"]["files"] == ["pnpm-lock.yaml"]
    assert checks["image"] == "node:20-alpine"


# --- The build context: what the repository tracks, nothing it ignores ----------


def _dockerignored(patterns: list[str], path: str) -> bool:
    """Whether Docker leaves path out of the context (last match wins, parents count)."""

    def regex(pattern: str) -> re.Pattern[str]:
        out = ""
        for part in re.split(r"(\*\*/|\*\*|\*|\?)", pattern.strip("/")):
            out += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(
                part, re.escape(part)
            )
        return re.compile(out)

    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for line in patterns:
        negate = line.startswith("!")
        matcher = regex(line.removeprefix("!"))
        if any(matcher.fullmatch(prefix) for prefix in prefixes):
            ignored = not negate
    return ignored


def test_the_build_context_holds_what_the_repo_tracks_and_nothing_it_ignores(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path
) -> None:
    files = {
        **CORPUS["django-split-requirements"],
        ".gitignore": "*.sqlite3\n/media/\n__pycache__/\nlocal_settings.py\n",
        "mysite/.gitignore": "/uploads/\n!keep.txt\n",
        "scripts/collect.sh": "#!/bin/sh\npython manage.py collectstatic --noinput\n",
        "README.md": "# mysite\n",
    }
    repo = build_tree(tmp_path / "mysite", files)
    git_init_commit(repo)
    assert new(capsys, template_src, repo).code == 0
    # Files a developer has locally that git ignores.
    build_tree(
        repo,
        {
            "db.sqlite3": "",
            "media/avatar.png": "",
            "mysite/local_settings.py": "SECRET = 1\n",
            "mysite/uploads/a.txt": "",
            "polls/__pycache__/urls.cpython-39.pyc": "",
        },
    )
    patterns = [
        line
        for line in (repo / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    ignored = git(repo, "ls-files", "--others", "--ignored", "--exclude-standard").split()
    assert len(ignored) == 5
    assert [name for name in ignored if not _dockerignored(patterns, name)] == []
    # Every file the app tracks reaches the build (its scripts and README too).
    tracked = git(repo, "ls-files").split()
    assert [name for name in tracked if _dockerignored(patterns, name)] == []


# --- Docs, runbooks, smoke test and probes quote the app's own route ------------


@pytest.mark.parametrize(
    ("platform", "strategy"), [("kubernetes", "canary"), ("fly", "rolling"), ("compose", "rolling")]
)
def test_nothing_rendered_names_a_health_path_the_app_does_not_serve(
    capsys: pytest.CaptureFixture[str],
    template_src: Path,
    tmp_path: Path,
    platform: str,
    strategy: str,
) -> None:
    repo = build_repo(tmp_path / "catalog", "fastify-no-lockfile")  # serves /livez on 3100
    data = ("--data", f"platform={platform}", "--data", f"strategy={strategy}")
    assert new(capsys, template_src, repo, *data).code == 0
    rendered = set(snapshot(repo)) - set(CORPUS["fastify-no-lockfile"])
    # Alert rules filter the template's metrics by route; they name no probe target.
    alerts = {"monitoring/alerts.yml", "deploy/k8s/monitoring/prometheusrule.yaml"}
    wrong = sorted(
        f"{name}:{number}"
        for name in rendered - alerts
        for number, line in enumerate((repo / name).read_text().splitlines(), 1)
        if re.search(r"/health\b", line)
    )
    assert wrong == []
    assert "`/livez`" in (repo / "docs/deployment.md").read_text()
    assert "`/livez`" in (repo / "docs/runbooks/rollback.md").read_text()
    if platform == "compose":
        compose = yaml.safe_load((repo / "compose.yaml").read_text())
        test = compose["services"]["app"]["healthcheck"]["test"]
        assert test[:3] == ["CMD", "node", "-e"] and "http://127.0.0.1:3100/livez" in test[3]
    if platform == "fly":
        assert 'path = "/livez"' in (repo / "fly.toml").read_text()
        assert "[metrics]" not in (repo / "fly.toml").read_text()


def _npm_install_once(before: Path, after: Path) -> None:
    """Install the app's dependencies before the render and share them with the rendered copy.

    The corpus lockfiles are headers only, so npm resolves from package.json.
    """
    npm = require_tool("npm")
    code, out = _run(before, npm, "install", "--no-package-lock", "--no-audit", "--no-fund")
    assert code == 0, out
    (after / "node_modules").symlink_to(before / "node_modules")


def _summary(out: str) -> list[str]:
    """The lines a test runner sums up with (counts, not timings)."""
    keep = re.compile(r"^\s*(Tests:|Test Suites:|\d+ passing|\d+ failing|# (tests|pass|fail))")
    return [
        re.sub(r"\(\d+m?s\)", "", line).strip() for line in out.splitlines() if keep.match(line)
    ]


def test_typescript_build_and_jest_are_unchanged(
    rendered: dict[str, Rendered], tmp_path: Path
) -> None:
    before, after = _before_and_after(tmp_path, rendered, "express-ts-npm")
    _npm_install_once(before, after)
    npm = require_tool("npm")
    for script in ("build", "test"):
        outcomes = []
        for repo in (before, after):
            code, out = _run(repo, npm, "run", script)
            assert code == 0, out
            outcomes.append(_summary(out))
        assert outcomes[0] == outcomes[1], script
    assert (after / "dist/index.js").is_file()


def test_mocha_tests_are_unchanged(rendered: dict[str, Rendered], tmp_path: Path) -> None:
    before, after = _before_and_after(tmp_path, rendered, "koa-docker-ci")
    _npm_install_once(before, after)
    npm = require_tool("npm")
    outcomes = []
    for repo in (before, after):
        code, out = _run(repo, npm, "test")
        assert code == 0, out
        outcomes.append(_summary(out))
    assert outcomes[0] == outcomes[1] and outcomes[0]


def test_an_app_without_build_or_tests_still_starts_and_serves_its_route(
    rendered: dict[str, Rendered], tmp_path: Path
) -> None:
    node = require_tool("node")
    before, after = _before_and_after(tmp_path, rendered, "fastify-no-lockfile")
    _npm_install_once(before, after)
    answers = rendered["fastify-no-lockfile"].answers
    for repo in (before, after):
        port = free_port()
        service = Service(repo, "node", [node, "server.js"], {}, port)
        service.start()
        try:
            deadline = time.monotonic() + 30
            status = 0
            while time.monotonic() < deadline and status != 200:
                with contextlib.suppress(OSError):
                    status = get(f"{service.base_url}{answers['health_path']}", timeout=1).status
                time.sleep(0.2)
            assert status == 200, service.output()
        finally:
            service.stop()


@pytest.mark.parametrize(
    ("kind", "name"),
    [("express-pnpm", "notifier"), ("go-chi-cmd", "orders"), ("koa-docker-ci", "gateway")],
)
def test_an_existing_apps_docs_pass_the_markdown_linter(
    capsys: pytest.CaptureFixture[str], template_src: Path, tmp_path: Path, kind: str, name: str
) -> None:
    repo = build_repo(tmp_path / name, kind)
    assert new(capsys, template_src, repo).code == 0
    docs = sorted(str(path) for path in (repo / "docs").rglob("*.md"))
    config = str(Path(__file__).parents[1] / ".pymarkdown.json")
    lint = subprocess.run(
        [sys.executable, "-m", "pymarkdown", "--config", config, "scan", *docs],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
