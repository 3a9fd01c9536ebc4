"""CI/CD pipelines: every language x platform x strategy renders pipelines that lint clean,
pass the security audit and the vendors' schemas, and run checks -> build -> staging ->
smoke -> production with the service's own commands and scripts.

Rendering is the slow part, so every combination is rendered once per module and each
validator runs once over all of them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import FULL_STACK, choices, include_yaml, render, require_tool
from service_runner import toolchain_path

COMMANDS = include_yaml("commands.yml")
STEP_ORDER = ("install", "lint", "typecheck", "test", "build")
# A full commit SHA, then the release tag it stands for as a comment.
PINNED_ACTION = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
SCRIPT_CALL = re.compile(r"(?<![\w/.-])(scripts/[\w.-]+)")
GITHUB_EXPRESSION = re.compile(r"\$\{\{")
DEPLOY_ENVIRONMENTS = ("staging", "production")


def platform_strategies() -> list[dict[str, str]]:
    """Every valid platform/strategy(/k8s_rollouts) answer set, read from copier.yml."""
    combos: list[dict[str, str]] = []
    for platform in choices("platform"):
        for strategy in choices("strategy"):
            if platform == "compose" and strategy != "rolling":
                continue
            if platform == "kubernetes" and strategy != "rolling":
                combos += [
                    {"platform": platform, "strategy": strategy, "k8s_rollouts": rollouts}
                    for rollouts in choices("k8s_rollouts")
                ]
            else:
                combos.append({"platform": platform, "strategy": strategy})
    return combos


def combo_id(answers: dict[str, str]) -> str:
    """A short readable test id for one answer set."""
    return "-".join(
        answers[key]
        for key in ("ci", "language", "platform", "strategy", "k8s_rollouts")
        if key in answers
    )


COMBOS = [
    {"ci": ci, "language": language, **rest}
    for ci in choices("ci")
    for language in choices("language")
    for rest in platform_strategies()
]
GITHUB_COMBOS = [combo for combo in COMBOS if combo["ci"] == "github"]
GITLAB_COMBOS = [combo for combo in COMBOS if combo["ci"] == "gitlab"]


def render_shared(template_src: Path, root: Path, combo: dict[str, str]) -> Path:
    """Render one combination into root, once for all pytest-xdist workers.

    The first worker to claim a combination (an atomic mkdir) renders it; another
    worker that needs it waits for the marker the renderer leaves when done.
    """
    name = combo_id(combo)
    project, marker = root / name, root / f"{name}.done"
    try:
        (root / f"{name}.claim").mkdir()
    except FileExistsError:
        deadline = time.monotonic() + 300
        while not marker.exists():
            assert time.monotonic() < deadline, f"no worker finished rendering {name}"
            time.sleep(0.05)
        outcome = marker.read_text()
        assert outcome == "ok", f"rendering {name} failed in another worker: {outcome}"
        return project
    try:
        render(template_src, project, service_name="shop-api", **FULL_STACK, **combo)
        # actionlint finds local actions and reusable workflows from the repository root.
        (project / ".git").mkdir()
    except BaseException as error:
        marker.write_text(f"{type(error).__name__}: {error}")
        raise
    marker.write_text("ok")
    return project


@pytest.fixture(scope="module")
def projects(template_src: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every combination rendered once per test run, by combo id.

    Under pytest-xdist the workers share the renders (the base temp directory's
    parent is common to them) and walk the list from opposite ends, so each
    renders about half.
    """
    worker_id = os.environ.get("PYTEST_XDIST_WORKER", "master")
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if worker_id != "master" else base) / "pipeline-renders"
    root.mkdir(exist_ok=True)
    order = COMBOS[::-1] if worker_id[-1:] in tuple("13579") else COMBOS
    rendered = {combo_id(combo): render_shared(template_src, root, combo) for combo in order}
    return {combo_id(combo): rendered[combo_id(combo)] for combo in COMBOS}


def load(path: Path) -> Any:
    """Parse one YAML file the way GitHub and GitLab read it (`on:` stays a string key)."""
    # _NoBoolLoader is a SafeLoader: no object construction.
    return yaml.load(path.read_text(), Loader=_NoBoolLoader)  # noqa: S506


class _NoBoolLoader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false; `on`/`yes`/`no` stay strings, as GitHub reads them."""


_NoBoolLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_NoBoolLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def workflows(project: Path) -> dict[str, dict[str, Any]]:
    """The project's GitHub workflows, by file name."""
    return {
        path.name: load(path) for path in sorted((project / ".github" / "workflows").glob("*.yml"))
    }


def github_files(projects: dict[str, Path], pattern: str) -> list[str]:
    """Paths matching a glob in every GitHub project."""
    return [
        str(path)
        for combo in GITHUB_COMBOS
        for path in sorted(projects[combo_id(combo)].glob(pattern))
    ]


def run_tool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a validator and capture its output."""
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)


def expected_commands(language: str) -> list[tuple[str, str]]:
    """(step, command) pairs of includes/commands.yml for a language, in pipeline order."""
    return [(step, command) for step in STEP_ORDER for command in COMMANDS[language][step]]


def assert_same_commands(language: str, commands: list[str]) -> None:
    """The pipeline runs exactly the local commands, in order; only the last test command
    may carry extra arguments (the coverage report)."""
    expected = expected_commands(language)
    assert len(commands) == len(expected), f"{commands} != {[c for _, c in expected]}"
    last_test = max(i for i, (step, _) in enumerate(expected) if step == "test")
    for index, ((_, want), got) in enumerate(zip(expected, commands, strict=True)):
        if index == last_test:
            assert got == want or got.startswith(want + " "), f"{got!r} is not {want!r}"
        else:
            assert got == want


def assert_scripts_exist(project: Path, scripts: set[str]) -> None:
    """Every script a pipeline calls is rendered and executable."""
    assert scripts, "the pipeline calls no script"
    for script in sorted(scripts):
        path = project / script
        assert path.is_file(), f"the pipeline calls {script}, which is not rendered"
        assert os.access(path, os.X_OK), f"{script} is not executable"


# --- validators, each run once over every rendered project ----------------------


def test_actionlint_with_shellcheck_is_clean(projects: dict[str, Path]) -> None:
    actionlint = require_tool("actionlint")
    shellcheck = require_tool("shellcheck")
    failures = []
    # One call per project: actionlint resolves ./.github/actions from the current repo.
    for combo in GITHUB_COMBOS:
        project = projects[combo_id(combo)]
        files = [
            str(path.relative_to(project))
            for path in (project / ".github" / "workflows").glob("*.yml")
        ]
        result = run_tool(actionlint, "-shellcheck", shellcheck, "-no-color", *files, cwd=project)
        if result.returncode != 0:
            failures.append(f"{combo_id(combo)}:\n{result.stdout}{result.stderr}")
    assert not failures, "\n".join(failures)


def test_zizmor_finds_nothing_of_medium_severity_or_above(projects: dict[str, Path]) -> None:
    zizmor = require_tool("zizmor")
    dirs = [str(projects[combo_id(combo)] / ".github") for combo in GITHUB_COMBOS]
    result = run_tool(zizmor, "--offline", "--format", "json", "--min-severity", "medium", *dirs)
    assert result.returncode in (0, 11, 12, 13, 14), result.stderr  # 1x: findings, checked below
    findings = json.loads(result.stdout or "[]")
    summary = [
        f"{f['ident']} ({f['determinations']['severity']}): {f['locations'][0]['symbolic']['key']}"
        for f in findings
    ]
    assert not findings, "\n".join(summary)


@pytest.mark.parametrize(
    ("schema", "pattern", "ci"),
    [
        ("vendor.github-workflows", ".github/workflows/*.yml", "github"),
        ("vendor.github-actions", ".github/actions/*/action.yml", "github"),
        ("vendor.dependabot", ".github/dependabot.yml", "github"),
        ("vendor.gitlab-ci", ".gitlab-ci.yml", "gitlab"),
    ],
)
def test_pipelines_match_the_vendor_schemas(
    projects: dict[str, Path], schema: str, pattern: str, ci: str
) -> None:
    check_jsonschema = require_tool("check-jsonschema")
    files = [
        str(path)
        for combo in COMBOS
        if combo["ci"] == ci
        for path in sorted(projects[combo_id(combo)].glob(pattern))
    ]
    assert files, f"no {pattern} rendered"
    result = run_tool(check_jsonschema, "--builtin-schema", schema, *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_gitlab_job_scripts_pass_shellcheck(projects: dict[str, Path], tmp_path: Path) -> None:
    shellcheck = require_tool("shellcheck")
    scripts = []
    for combo in GITLAB_COMBOS:
        pipeline = load(projects[combo_id(combo)] / ".gitlab-ci.yml")
        for name, job in gitlab_jobs(pipeline, include_hidden=True).items():
            lines = [*job.get("before_script", []), *job.get("script", [])]
            if not lines:
                continue
            path = tmp_path / f"{combo_id(combo)}--{name.lstrip('.')}.sh"
            # The runner's default shell in the Alpine-based images is POSIX sh.
            path.write_text("#!/bin/sh\nset -e\n" + "\n".join(lines) + "\n")
            scripts.append(str(path))
    result = run_tool(shellcheck, "--severity=warning", *scripts)
    assert result.returncode == 0, result.stdout + result.stderr


def test_composite_action_scripts_pass_shellcheck(
    projects: dict[str, Path], tmp_path: Path
) -> None:
    # actionlint checks workflows only; the deploy-tools action's scripts get the same check.
    shellcheck = require_tool("shellcheck")
    scripts = []
    for combo in GITHUB_COMBOS:
        action = projects[combo_id(combo)] / ".github" / "actions" / "deploy-tools" / "action.yml"
        for index, step in enumerate(load(action)["runs"]["steps"]):
            if "run" in step:
                assert step["shell"] == "bash"
                path = tmp_path / f"{combo_id(combo)}-{index}.sh"
                path.write_text("#!/usr/bin/env bash\nset -eo pipefail\n" + step["run"])
                scripts.append(str(path))
    assert scripts
    result = run_tool(shellcheck, "--severity=style", *scripts)
    assert result.returncode == 0, result.stdout + result.stderr


# --- GitHub Actions structure -----------------------------------------------------


def needs(job: dict[str, Any]) -> list[str]:
    """A job's `needs`, always as a list."""
    value = job.get("needs", [])
    return [value] if isinstance(value, str) else list(value)


def ancestors(jobs: dict[str, dict[str, Any]], name: str) -> set[str]:
    """Every job a job waits for, directly or not."""
    seen: set[str] = set()
    todo = needs(jobs[name])
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo += needs(jobs[current])
    return seen


def steps_of(workflow: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(job name, step) for every step of a workflow."""
    for name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield name, step


@pytest.fixture(params=GITHUB_COMBOS, ids=combo_id)
def github_project(
    request: pytest.FixtureRequest, projects: dict[str, Path]
) -> tuple[dict[str, str], Path]:
    """One rendered GitHub project with its answers."""
    return request.param, projects[combo_id(request.param)]


def test_github_deploy_runs_checks_build_staging_smoke_production(
    github_project: tuple[dict[str, str], Path],
) -> None:
    _, project = github_project
    jobs = workflows(project)["deploy.yml"]["jobs"]
    assert jobs["checks"]["uses"] == "./.github/workflows/ci.yml"
    assert needs(jobs["build"]) == ["checks"]
    assert needs(jobs["staging"]) == ["build"]
    assert "staging" in needs(jobs["production"])
    assert ancestors(jobs, "production") == {"checks", "build", "staging"}
    assert jobs["staging"]["environment"]["name"] == "staging"
    assert jobs["production"]["environment"]["name"] == "production"


def test_github_promotes_the_digest_the_build_reported_and_smokes_in_the_deploy_job(
    github_project: tuple[dict[str, str], Path],
) -> None:
    # Built once, promoted unchanged: every environment gets IMAGE:SHA@sha256:..., and
    # the smoke test runs in the deploy job (two close pushes cannot interleave) and
    # checks the version just deployed.
    answers, project = github_project
    jobs = workflows(project)["deploy.yml"]["jobs"]
    build = jobs["build"]
    push = next(s for s in build["steps"] if s.get("uses", "").startswith("docker/build-push"))
    assert build["outputs"]["image"].endswith(f"@${{{{ steps.{push['id']}.outputs.digest }}}}")
    for name in ("staging", "production"):
        steps = jobs[name]["steps"]
        runs = [step.get("run", "") for step in steps]
        deploy = next(s for s in steps if "scripts/deploy.sh" in s.get("run", ""))
        assert deploy["env"]["IMAGE_REF"] == "${{ needs.build.outputs.image }}"
        smoke = next(s for s in steps if s.get("id") == "smoke")
        if not answers.get("existing_app"):
            assert '--expect-version "$VERSION"' in smoke["run"]
            assert smoke["env"]["VERSION"] in {"${{ github.sha }}"}
        assert runs.index(smoke["run"]) > runs.index(deploy["run"])


def test_github_deploy_builds_multi_arch_with_attestations(
    github_project: tuple[dict[str, str], Path],
) -> None:
    _, project = github_project
    build = workflows(project)["deploy.yml"]["jobs"]["build"]
    push = next(
        s for s in build["steps"] if s.get("uses", "").startswith("docker/build-push-action@")
    )
    assert push["with"]["platforms"] == "linux/amd64,linux/arm64"
    assert push["with"]["push"] is True
    assert push["with"]["tags"].endswith(":${{ github.sha }}")
    assert push["with"]["sbom"] is True
    assert push["with"]["provenance"] == "mode=max"
    assert "type=gha" in push["with"]["cache-from"]


def test_github_deploys_and_rolls_back_through_the_scripts(
    github_project: tuple[dict[str, str], Path],
) -> None:
    _, project = github_project
    jobs = workflows(project)["deploy.yml"]["jobs"]
    for env in DEPLOY_ENVIRONMENTS:
        job = jobs["staging" if env == "staging" else "production"]
        runs = [step.get("run", "") for step in job["steps"]]
        assert f'scripts/deploy.sh --env {env} --image "$IMAGE_REF"' in runs
        concurrency = job["concurrency"]
        assert concurrency == {"group": f"deploy-{env}", "cancel-in-progress": False}
    for job_name, env in (("staging", "staging"), ("production", "production")):
        steps = jobs[job_name]["steps"]
        smoke = [
            i
            for i, s in enumerate(steps)
            if s.get("run", "").startswith("scripts/smoke-test.sh ")
            and s.get("run", "").endswith('"$APP_URL"')
        ]
        rollback = [i for i, s in enumerate(steps) if "scripts/rollback.sh" in s.get("run", "")]
        assert smoke, f"{job_name} runs no smoke test"
        assert len(rollback) == 1 and rollback[0] > smoke[0]
        step = steps[rollback[0]]
        assert "failure()" in step["if"]
        assert "--to previous" in step["run"]
        assert step["env"]["DEPLOY_ENV"] == env


def test_github_jobs_have_least_privilege_timeouts_and_pinned_actions(
    github_project: tuple[dict[str, str], Path],
) -> None:
    answers, project = github_project
    registry = load(project / ".copier-answers.yml")["registry"]
    for name, workflow in workflows(project).items():
        assert workflow["permissions"] == {}, f"{name}: top-level permissions must be empty"
        for job_name, job in workflow["jobs"].items():
            where = f"{name}:{job_name}"
            assert "permissions" in job, f"{where} has no permissions"
            granted = {scope for scope, level in job["permissions"].items() if level == "write"}
            pushes = any(
                "build-push-action" in s.get("uses", "") and s["with"].get("push")
                for s in job.get("steps", [])
            )
            # The template-update workflow commits a branch and opens a pull request.
            writable = (
                {"contents", "pull-requests"}
                if name == "template-update.yml"
                else {"packages", "security-events", "id-token"}
            )
            assert granted <= writable, f"{where} writes {granted}"
            # Only Cloud Run's jobs mint OIDC tokens (Workload Identity Federation), and
            # only the ones that talk to Google: the push and the deploy tooling.
            talks_to_google = any(
                s.get("uses", "").startswith(("google-github-actions/auth@", "./.github/actions/"))
                for s in job.get("steps", [])
            )
            assert ("id-token" in granted) == (
                answers["platform"] == "cloudrun" and talks_to_google
            ), where
            # Only the job uploading `prodready check`'s SARIF writes code scanning
            # alerts (and deploy.yml's call of ci.yml, which grants it to that job).
            uploads_sarif = any(
                "codeql-action/upload-sarif@" in s.get("uses", "") for s in job.get("steps", [])
            )
            calls_ci = job.get("uses") == "./.github/workflows/ci.yml"
            assert ("security-events" in granted) == (uploads_sarif or calls_ci), where
            assert ("packages" in granted) == (pushes and registry == "ghcr.io"), where
            if "uses" not in job:  # a reusable workflow call takes the callee's timeouts
                assert isinstance(job["timeout-minutes"], int), f"{where} has no timeout"
        for job_name, step in steps_of(workflow):
            uses = step.get("uses")
            if uses is None or uses.startswith("./"):
                continue
            assert PINNED_ACTION.match(uses), f"{name}:{job_name}: {uses} is not pinned to a SHA"
            if uses.startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
    raw = [(p, p.read_text()) for p in (project / ".github").rglob("*.yml")]
    for path, text in raw:
        for line in text.splitlines():
            if re.search(r"uses: [^.]", line):
                assert re.search(r"@[0-9a-f]{40} # v?\d", line), (
                    f"{path.name}: {line.strip()} has no version comment"
                )


def test_github_run_scripts_never_interpolate_expressions(
    github_project: tuple[dict[str, str], Path],
) -> None:
    _, project = github_project
    runs = [
        (name, step["run"])
        for name, wf in workflows(project).items()
        for _, step in steps_of(wf)
        if "run" in step
    ]
    for action in (project / ".github" / "actions").glob("*/action.yml"):
        runs += [
            (action.parent.name, s["run"]) for s in load(action)["runs"]["steps"] if "run" in s
        ]
    for where, script in runs:
        assert not GITHUB_EXPRESSION.search(script), f"{where}: expression in run: {script!r}"


def test_github_checks_run_exactly_the_local_commands(
    github_project: tuple[dict[str, str], Path],
) -> None:
    answers, project = github_project
    ci = workflows(project)["ci.yml"]
    assert set(ci["on"]) == {"pull_request", "workflow_call"}
    assert ci["concurrency"]["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"
    checks = ci["jobs"]["checks"]["steps"]
    assert_same_commands(answers["language"], [step["run"] for step in checks if "run" in step])
    setup = next(
        s for s in checks if re.match(r"actions/setup-(node|go|python)@", s.get("uses", ""))
    )
    assert setup["with"]["cache"] in ("npm", "pip", True)
    uploads = [s for s in checks if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert [s["with"]["name"] for s in uploads] == ["coverage"]
    docker_steps = ci["jobs"]["dockerfile"]["steps"]
    assert any(s.get("uses", "").startswith("hadolint/hadolint-action@") for s in docker_steps)
    build = next(
        s for s in docker_steps if s.get("uses", "").startswith("docker/build-push-action@")
    )
    assert build["with"]["push"] is False


def test_github_pipelines_call_only_rendered_scripts(
    github_project: tuple[dict[str, str], Path],
) -> None:
    _, project = github_project
    scripts = {
        match
        for wf in workflows(project).values()
        for _, step in steps_of(wf)
        for match in SCRIPT_CALL.findall(step.get("run", ""))
    }
    assert {"scripts/deploy.sh", "scripts/rollback.sh", "scripts/smoke-test.sh"} <= scripts
    assert_scripts_exist(project, scripts)


def test_github_rollback_is_manual_and_passes_inputs_through_env(
    github_project: tuple[dict[str, str], Path],
) -> None:
    _, project = github_project
    rollback = workflows(project)["rollback.yml"]
    inputs = rollback["on"]["workflow_dispatch"]["inputs"]
    assert inputs["environment"]["options"] == ["production", "staging"]
    assert inputs["target"]["default"] == "previous"
    job = rollback["jobs"]["rollback"]
    assert job["environment"]["name"] == "${{ inputs.environment }}"
    assert job["concurrency"] == {
        "group": "deploy-${{ inputs.environment }}",
        "cancel-in-progress": False,
    }
    steps = job["steps"]
    roll = next(s for s in steps if "scripts/rollback.sh" in s.get("run", ""))
    assert roll["run"] == 'scripts/rollback.sh --env "$DEPLOY_ENV" --to "$TARGET"'
    assert roll["env"]["TARGET"] == "${{ inputs.target }}"
    assert steps.index(roll) < next(
        i for i, s in enumerate(steps) if "smoke-test.sh" in s.get("run", "")
    )


def test_github_previews_follow_the_platform(github_project: tuple[dict[str, str], Path]) -> None:
    answers, project = github_project
    preview = workflows(project).get("preview.yml")
    if answers["platform"] in ("compose", "cloudrun"):
        assert preview is None
        return
    assert preview is not None
    assert set(preview["on"]["pull_request"]["types"]) >= {"opened", "synchronize", "closed"}
    jobs = preview["jobs"]
    deploy_runs = [s.get("run", "") for s in jobs["deploy"]["steps"]]
    assert 'scripts/deploy.sh --env preview --image "$IMAGE_REF" --pr "$PR_NUMBER"' in deploy_runs
    assert any("scripts/smoke-test.sh" in run for run in deploy_runs)
    assert "closed" in jobs["teardown"]["if"]
    teardown = [s.get("run", "") for s in jobs["teardown"]["steps"]]
    assert 'scripts/deploy.sh --env preview --pr "$PR_NUMBER" --destroy' in teardown
    # Fork pull requests cannot read the preview secrets: they get no preview at all.
    assert "head.repo.full_name == github.repository" in jobs["build"]["if"]


def test_github_previews_push_to_their_own_repository_for_amd64_only(
    github_project: tuple[dict[str, str], Path],
) -> None:
    # A branch could overwrite a release tag in the production repository.
    _, project = github_project
    preview = workflows(project).get("preview.yml")
    if preview is None:
        return
    release_image = workflows(project)["deploy.yml"]["env"]["IMAGE"]
    assert preview["env"]["IMAGE"] == f"{release_image}/preview"
    build = preview["jobs"]["build"]
    push = next(s for s in build["steps"] if s.get("uses", "").startswith("docker/build-push"))
    assert push["with"]["platforms"] == "linux/amd64"
    assert not [s for s in build["steps"] if "setup-qemu" in s.get("uses", "")]
    assert build["outputs"]["image"].endswith(f"@${{{{ steps.{push['id']}.outputs.digest }}}}")


def test_github_tooling_matches_the_platform(github_project: tuple[dict[str, str], Path]) -> None:
    answers, project = github_project
    action = (project / ".github" / "actions" / "deploy-tools" / "action.yml").read_text()
    platform = answers["platform"]
    assert ("azure/setup-kubectl@" in action) == (platform == "kubernetes")
    argo = platform == "kubernetes" and answers.get("k8s_rollouts") == "argo"
    assert ("kubectl-argo-rollouts" in action) == argo
    assert ("setup-flyctl@" in action) == (platform == "fly")
    assert ("ssh-agent" in action) == (platform == "compose")
    assert ("google-github-actions/setup-gcloud@" in action) == (platform == "cloudrun")
    assert ("workload_identity_provider:" in action) == (platform == "cloudrun")
    deploy = (project / ".github" / "workflows" / "deploy.yml").read_text()
    assert ("secrets.FLY_API_TOKEN" in deploy) == (platform == "fly")
    # Cloud Run: Workload Identity Federation, never a service account key.
    assert ("vars.GCP_WORKLOAD_IDENTITY_PROVIDER" in deploy) == (platform == "cloudrun")
    assert "credentials_json" not in deploy + action
    assert ("secrets.KUBE_CONFIG" in deploy) == (platform == "kubernetes")
    assert ("secrets.SSH_PRIVATE_KEY" in deploy) == (platform == "compose")


def test_dependabot_covers_actions_images_and_the_language(
    github_project: tuple[dict[str, str], Path],
) -> None:
    answers, project = github_project
    config = load(project / ".github" / "dependabot.yml")
    ecosystems = {update["package-ecosystem"] for update in config["updates"]}
    language_ecosystem = {"node": "npm", "python": "pip", "go": "gomod"}[answers["language"]]
    assert ecosystems == {"github-actions", "docker", language_ecosystem}


# --- GitLab CI structure -----------------------------------------------------------


def gitlab_jobs(
    pipeline: dict[str, Any], *, include_hidden: bool = False
) -> dict[str, dict[str, Any]]:
    """The jobs of a .gitlab-ci.yml (hidden templates only when asked), `extends` merged in."""
    reserved = {
        "workflow",
        "stages",
        "variables",
        "default",
        "include",
        "image",
        "services",
        "cache",
    }
    raw = {k: v for k, v in pipeline.items() if k not in reserved and isinstance(v, dict)}

    def resolved(name: str) -> dict[str, Any]:
        job = raw[name]
        parents = job.get("extends", [])
        merged: dict[str, Any] = {}
        for parent in [parents] if isinstance(parents, str) else parents:
            merged.update(resolved(parent))
        merged.update({k: v for k, v in job.items() if k != "extends"})
        return merged

    return {name: resolved(name) for name in raw if include_hidden or not name.startswith(".")}


@pytest.fixture(params=GITLAB_COMBOS, ids=combo_id)
def gitlab_project(
    request: pytest.FixtureRequest, projects: dict[str, Path]
) -> tuple[dict[str, str], Path]:
    """One rendered GitLab project with its answers."""
    return request.param, projects[combo_id(request.param)]


def test_gitlab_runs_checks_build_staging_smoke_production(
    gitlab_project: tuple[dict[str, str], Path],
) -> None:
    _, project = gitlab_project
    assert not (project / ".github").exists()
    pipeline = load(project / ".gitlab-ci.yml")
    assert pipeline["stages"] == ["checks", "build", "staging", "production", "rollback"]
    jobs = gitlab_jobs(pipeline)
    assert jobs["checks"]["stage"] == jobs["hadolint"]["stage"] == jobs["readiness"]["stage"]
    assert jobs["checks"]["stage"] == "checks"
    assert jobs["build"]["stage"] == "build"
    assert set(needs(jobs["deploy-staging"])) == {"checks", "hadolint", "readiness", "build"}
    assert "smoke-staging" not in jobs, "deploy and smoke test share one job"
    assert "deploy-staging" in needs(jobs["deploy-production"])
    assert ancestors(jobs, "deploy-production") == {
        "checks",
        "hadolint",
        "readiness",
        "build",
        "deploy-staging",
    }
    production = jobs["deploy-production"]
    assert production["environment"]["name"] == "production"
    assert [rule.get("when") for rule in production["rules"]] == ["never", "manual"]
    assert production["rules"][1]["allow_failure"] is False
    for name, job in jobs.items():
        assert re.fullmatch(r"\d+ minutes", job["timeout"]), f"{name} has no timeout"
        env = job.get("environment", {}).get("name")
        if env:
            assert job["resource_group"] == env, (
                f"{name} deploys to {env} without its resource group"
            )
            assert job.get("interruptible") is not True


def test_gitlab_build_pushes_one_multi_arch_image_per_commit(
    gitlab_project: tuple[dict[str, str], Path],
) -> None:
    answers, project = gitlab_project
    pipeline = load(project / ".gitlab-ci.yml")
    build_job = gitlab_jobs(pipeline)["build"]
    if answers["platform"] == "cloudrun":
        # Cloud Run pulls from Artifact Registry; the push authenticates through
        # Workload Identity Federation (the job's id_token), never a key.
        image = load(project / ".copier-answers.yml")["image"]
        assert pipeline["variables"]["IMAGE_TAGGED"] == f"{image}:$CI_COMMIT_SHA"
        assert "GCP_ID_TOKEN" in build_job["id_tokens"]
        assert any("scripts/gcp-access-token.sh | docker login" in s for s in build_job["script"])
    else:
        assert pipeline["variables"]["IMAGE_TAGGED"] == "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA"
    build = " ".join(build_job["script"])
    for flag in (
        "--platform linux/amd64,linux/arm64",
        "--sbom=true",
        "--provenance=mode=max",
        '--tag "$IMAGE_TAGGED"',
        "--push",
    ):
        assert flag in build
    check = " ".join(gitlab_jobs(pipeline)["image-check"]["script"])
    assert "--push" not in check


def test_gitlab_checks_run_exactly_the_local_commands_with_a_cache(
    gitlab_project: tuple[dict[str, str], Path],
) -> None:
    answers, project = gitlab_project
    checks = gitlab_jobs(load(project / ".gitlab-ci.yml"))["checks"]
    # Lines that only set the coverage environment around the test command.
    commands = [line for line in checks["script"] if not re.match(r"(export|unset) [A-Z_]+", line)]
    assert_same_commands(answers["language"], commands)
    assert checks["cache"]["key"]["files"]
    assert "artifacts" in checks


def test_gitlab_deploys_and_rolls_back_through_the_scripts(
    gitlab_project: tuple[dict[str, str], Path],
) -> None:
    answers, project = gitlab_project
    jobs = gitlab_jobs(load(project / ".gitlab-ci.yml"))
    staging = "\n".join(jobs["deploy-staging"]["script"])
    assert 'scripts/deploy.sh --env staging --image "$IMAGE_REF"' in staging
    expect = "" if answers.get("existing_app") else '--expect-version "$CI_COMMIT_SHA" '
    assert f'scripts/smoke-test.sh {expect}"$APP_URL"' in staging
    assert "scripts/rollback.sh --env staging --to previous" in staging
    production = "\n".join(jobs["deploy-production"]["script"])
    assert 'scripts/deploy.sh --env production --image "$IMAGE_REF"' in production
    assert "scripts/rollback.sh --env production --to previous" in production
    if answers["platform"] in ("compose", "cloudrun"):
        assert "deploy-preview" not in jobs
    else:
        preview = jobs["deploy-preview"]
        assert preview["environment"]["on_stop"] == "stop-preview"
        assert preview["script"][0] == (
            'scripts/deploy.sh --env preview --image "$IMAGE_REF" --pr "$CI_MERGE_REQUEST_IID"'
        )
        assert any("scripts/smoke-test.sh" in line for line in preview["script"])
        stop = jobs["stop-preview"]
        assert stop["environment"]["action"] == "stop"
        assert stop["script"] == [
            'scripts/deploy.sh --env preview --pr "$CI_MERGE_REQUEST_IID" --destroy'
        ]
    for env in DEPLOY_ENVIRONMENTS:
        rollback = jobs[f"rollback-{env}"]
        assert rollback["environment"]["name"] == env
        # The first rule keeps every job out of template-update pipelines.
        assert rollback["rules"][0] == {"if": '$TEMPLATE_UPDATE == "true"', "when": "never"}
        assert rollback["rules"][1]["when"] == "manual"
        assert (
            'scripts/rollback.sh --env "$CI_ENVIRONMENT_NAME" --to "$ROLLBACK_TO"'
            in rollback["script"]
        )


def test_gitlab_deploys_the_digest_the_build_reported(
    gitlab_project: tuple[dict[str, str], Path],
) -> None:
    answers, project = gitlab_project
    pipeline = load(project / ".gitlab-ci.yml")
    jobs = gitlab_jobs(pipeline)
    assert "IMAGE_REF" not in pipeline.get("variables", {}), "IMAGE_REF comes from the build"
    builds = ["build"] + (
        ["build-preview"] if answers["platform"] not in ("compose", "cloudrun") else []
    )
    for name in builds:
        build = jobs[name]
        script = "\n".join(build["script"])
        assert "--metadata-file build-metadata.json" in script
        assert 'echo "IMAGE_REF=$IMAGE_TAGGED@$digest" > build.env' in script
        assert build["artifacts"]["reports"]["dotenv"] == "build.env"
    if "build-preview" in jobs:
        preview_tag = jobs["build-preview"]["variables"]["IMAGE_TAGGED"]
        assert preview_tag.startswith("$CI_REGISTRY_IMAGE/preview:")
    for name in ("deploy-staging", "deploy-production"):
        assert "build" in needs(jobs[name])
    if "deploy-preview" in jobs:
        assert "build-preview" in needs(jobs["deploy-preview"])
        assert "build" not in needs(jobs["deploy-preview"])


def test_gitlab_deploy_image_has_every_tool_the_scripts_need(
    gitlab_project: tuple[dict[str, str], Path],
) -> None:
    # The Fly deploy image had bash and curl but no jq: every rollback failed.
    answers, project = gitlab_project
    deploy = gitlab_jobs(load(project / ".gitlab-ci.yml"), include_hidden=True)[".deploy"]
    image_tools = {
        "kubernetes": {"kubectl", "bash", "curl", "jq"},  # alpine/k8s
        "fly": set(),  # plain alpine
        "compose": {"docker"},  # docker CLI image
        "cloudrun": {"gcloud"},  # google/cloud-sdk alpine
    }[answers["platform"]]
    installed = set(image_tools)
    for line in deploy["before_script"]:
        for packages in re.findall(r"apk add --no-cache ([\w -]+)", line):
            installed.update(packages.split())
        installed.update(re.findall(r"/usr/local/bin[/ ]([\w-]+)", line))
    needed = {
        tool
        for name in ("deploy.sh", "rollback.sh")
        for tool in re.findall(r"^\s*need (\w+)$", (project / "scripts" / name).read_text(), re.M)
    }
    assert needed, "the scripts declare the tools they need"
    assert needed <= installed, f"missing from the deploy image: {sorted(needed - installed)}"


def test_gitlab_pipeline_calls_only_rendered_scripts(
    gitlab_project: tuple[dict[str, str], Path],
) -> None:
    _, project = gitlab_project
    jobs = gitlab_jobs(load(project / ".gitlab-ci.yml"), include_hidden=True)
    scripts = {
        match
        for job in jobs.values()
        for line in [*job.get("before_script", []), *job.get("script", [])]
        for match in SCRIPT_CALL.findall(line)
    }
    assert {"scripts/deploy.sh", "scripts/rollback.sh", "scripts/smoke-test.sh"} <= scripts
    assert_scripts_exist(project, scripts)


# --- the checks job, run for real ---------------------------------------------------

SERVICE_MANIFEST = {"node": "package.json", "python": "requirements-dev.txt", "go": "go.mod"}


@pytest.mark.slow
@pytest.mark.parametrize("language", choices("language"))
def test_github_checks_job_coverage_steps_pass_when_run_locally(
    template_src: Path, tmp_path: Path, language: str
) -> None:
    """Where ci.yml's checks job departs from includes/commands.yml (coverage flags or
    environment on the test command), run that step for real after the install step,
    and find the report where the upload step looks for it. The unchanged commands
    themselves run in test_service_contract.py."""
    project = render(template_src, tmp_path / "svc", language=language, **FULL_STACK)
    steps = workflows(project)["ci.yml"]["jobs"]["checks"]["steps"]
    runs = [step for step in steps if "run" in step]
    plain = expected_commands(language)
    changed = [
        step
        for step, (_, command) in zip(runs, plain, strict=True)
        if step["run"] != command or step.get("env")
    ]
    if not changed:
        return  # exactly the local commands: nothing of the pipeline's own to run
    assert (project / SERVICE_MANIFEST[language]).exists(), "the service's manifest is missing"
    if language == "python":
        subprocess.run([sys.executable, "-m", "venv", str(project / ".venv")], check=True)
    env = {**os.environ, "PATH": toolchain_path(project, language), "CI": "true"}
    env.pop("VIRTUAL_ENV", None)
    install = [step for step, (name, _) in zip(runs, plain, strict=True) if name == "install"]
    for step in [*install, *changed]:
        result = subprocess.run(
            ["bash", "-eo", "pipefail", "-c", step["run"]],
            cwd=project,
            env={**env, **step.get("env", {})},
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert result.returncode == 0, (
            f"{step['name']} exited {result.returncode}\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    for upload in (s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@")):
        report = project / upload["with"]["path"]
        assert report.exists() and (report.is_file() or any(report.iterdir())), report
