"""Pipeline checks for GitHub Actions and GitLab CI: what runs before a deploy, and how."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ._context import Context
from ._model import Hit, Severity
from ._registry import check
from ._yaml import LineDict
from .image import _DIGEST, image_tag

__all__ = ["Job", "jobs"]

_CI = "answer `ci` (github or gitlab); prodready renders the pipeline"
_TESTS = re.compile(
    r"\b(pytest|go test|npm (run )?test|pnpm (run )?test|yarn (run )?test|jest|vitest|mocha"
    r"|tox|nox|make test|cargo test|gradle\w* test|mvn\w* (test|verify)|bundle exec rspec)\b"
)
_DEPLOY = re.compile(
    r"\b(kubectl (apply|set image|rollout)|helm (upgrade|install)|kustomize build"
    r"|fly(ctl)? deploy|docker compose .*\bup\b|docker stack deploy|scripts/deploy\b"
    r"|argocd app sync|kubectl argo rollouts|gcloud run (deploy|services (replace|update-traffic)))"
)
_ROLLBACK = re.compile(r"roll-?back|roll back|rollout undo|rollouts (undo|abort)|helm rollback")
_PRODUCTION = re.compile(r"^prod(uction)?\b", re.IGNORECASE)
_STAGING = re.compile(r"^(stag(e|ing)|pre-?prod|uat)\b", re.IGNORECASE)
_PREVIEW = re.compile(r"^(preview|review|pr-)", re.IGNORECASE)
_DOC_SUFFIXES = (".md", ".rst", ".txt", ".adoc", ".html")
_SHA = re.compile(r"@[0-9a-f]{40}$")
# GitLab top-level keys that are not jobs.
_GITLAB_RESERVED = frozenset(
    {
        "stages",
        "variables",
        "default",
        "include",
        "workflow",
        "image",
        "services",
        "cache",
        "before_script",
        "after_script",
        "types",
        "pages",
    }
)


@dataclass
class Job:
    """A CI job, GitHub or GitLab, reduced to what the checks compare.

    Attributes:
        id: The job key.
        file: The file defining it.
        line: Its line.
        needs: Jobs it waits for (for GitLab without `needs`, every job of earlier stages).
        environment: The environment it deploys to, or None.
        env_action: GitLab's environment action (start, stop, verify, ...).
        text: Its commands and names joined, for pattern matching.
        manual: Whether it waits for a person (GitLab `when: manual`).
        calls: The local reusable workflow it calls (GitHub), or None.

    """

    id: str
    file: str
    line: int | None
    needs: list[str] = field(default_factory=list)
    environment: str | None = None
    env_action: str = "start"
    text: str = ""
    manual: bool = False
    calls: str | None = None

    @property
    def is_rollback(self) -> bool:
        """A job that rolls back rather than deploys (by its ID or name)."""
        return bool(_ROLLBACK.search(self.id.lower()) or _ROLLBACK.search(self.title.lower()))

    title: str = ""

    @property
    def deploys(self) -> bool:
        """Whether the job deploys (an environment it starts, or a deploy command)."""
        if self.is_rollback or self.env_action != "start":
            return False
        return self.environment is not None or bool(_DEPLOY.search(self.text))

    @property
    def tier(self) -> str:
        """'production', 'staging', 'preview' or 'other' for a deploy job."""
        env = self.environment or ""
        for tier, pattern in (
            ("production", _PRODUCTION),
            ("staging", _STAGING),
            ("preview", _PREVIEW),
        ):
            if pattern.search(env):
                return tier
        return "production" if not env and self.deploys else "other"


def _env(value: Any) -> tuple[str | None, str]:
    if isinstance(value, str):
        return value, "start"
    if isinstance(value, dict):
        name = value.get("name")
        return (str(name) if name is not None else None), str(value.get("action", "start"))
    return None, "start"


def _github_jobs(file: str, workflow: LineDict) -> dict[str, Job]:
    out: dict[str, Job] = {}
    for job_id, job in (workflow.get("jobs") or {}).items():
        if not isinstance(job, LineDict):
            continue
        needs = job.get("needs") or []
        environment, action = _env(job.get("environment"))
        steps = [s for s in job.get("steps") or () if isinstance(s, dict)]
        text = "\n".join(str(s.get("run", "")) + " " + str(s.get("name", "")) for s in steps)
        uses = job.get("uses")
        out[str(job_id)] = Job(
            id=str(job_id),
            file=file,
            line=workflow["jobs"].line_at(job_id),
            needs=[needs] if isinstance(needs, str) else [str(n) for n in needs],
            environment=environment,
            env_action=action,
            text=text,
            calls=uses.removeprefix("./")
            if isinstance(uses, str) and uses.startswith("./")
            else None,
            title=str(job.get("name", "")),
        )
    return out


def _gitlab_resolved(
    config: LineDict, job: Any, seen: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Return a GitLab job with its `extends` templates merged in (the job's own keys win)."""
    if not isinstance(job, dict):
        return {}
    merged: dict[str, Any] = {}
    parents = job.get("extends") or []
    for parent in [parents] if isinstance(parents, str) else parents:
        if parent not in seen:
            base = _gitlab_resolved(config, config.get(parent), seen | {parent})
            merged = _deep_merge(merged, base)
    return _deep_merge(merged, dict(job))


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _gitlab_jobs(ctx: Context) -> dict[str, Job]:
    merged = LineDict()
    merged.key_lines = {}
    files: dict[str, str] = {}
    for file, config in ctx.gitlab_ci:
        for key, value in config.items():
            merged[key] = value
            merged.key_lines[key] = config.line_at(key)
            files[key] = file
    stages = [str(s) for s in merged.get("stages") or ["build", "test", "deploy"]]
    raw = {
        str(key): _gitlab_resolved(merged, value)
        for key, value in merged.items()
        if isinstance(value, dict) and not str(key).startswith(".") and key not in _GITLAB_RESERVED
    }
    out: dict[str, Job] = {}
    for job_id, job in raw.items():
        stage = str(job.get("stage", "test"))
        if "needs" in job:
            needs = [n if isinstance(n, str) else str(n.get("job")) for n in job["needs"] or ()]
        else:
            index = stages.index(stage) if stage in stages else 0
            needs = [
                other for other, o in raw.items() if str(o.get("stage", "test")) in stages[:index]
            ]
        script = [*(job.get("before_script") or []), *(job.get("script") or [])]
        environment, action = _env(job.get("environment"))
        rules = job.get("rules") or []
        manual = job.get("when") == "manual" or any(
            isinstance(r, dict) and r.get("when") == "manual" for r in rules
        )
        out[job_id] = Job(
            id=job_id,
            file=files[job_id],
            line=merged.line_at(job_id),
            needs=needs,
            environment=environment,
            env_action=action,
            text="\n".join(str(line) for line in script),
            manual=manual,
            title=job_id,
        )
    return out


def jobs(ctx: Context) -> list[dict[str, Job]]:
    """Job graphs: one per GitHub workflow file, one for the whole GitLab pipeline."""
    graphs = [_github_jobs(file, workflow) for file, workflow in ctx.github_workflows]
    if ctx.gitlab_ci:
        graphs.append(_gitlab_jobs(ctx))
    return graphs


def _ancestors(graph: dict[str, Job], job: Job) -> list[Job]:
    seen: dict[str, Job] = {}
    pending = list(job.needs)
    while pending:
        name = pending.pop()
        if name in seen or name not in graph:
            continue
        seen[name] = graph[name]
        pending += graph[name].needs
    return list(seen.values())


def _runs_tests(ctx: Context, job: Job) -> bool:
    if _TESTS.search(job.text):
        return True
    if job.calls:
        for file, workflow in ctx.github_workflows:
            if file == job.calls:
                return any(_TESTS.search(j.text) for j in _github_jobs(file, workflow).values())
    return False


def _deploys(ctx: Context) -> Iterator[tuple[dict[str, Job], Job]]:
    for graph in jobs(ctx):
        for job in graph.values():
            if job.deploys and job.tier != "preview":
                yield graph, job


@check(
    "PR-CI-001",
    "pipeline",
    Severity.ERROR,
    title="A CI pipeline runs on every change",
    why="Without CI nothing guarantees that what reaches production was built, linted and "
    "tested the same way every time.",
    fix=f"Add a GitHub Actions workflow or .gitlab-ci.yml; {_CI}.",
)
def ci_present(ctx: Context) -> Iterator[Hit]:
    """Check that the repository has GitHub workflows or a .gitlab-ci.yml."""
    if not ctx.github_workflows and not ctx.gitlab_ci:
        yield Hit("no .github/workflows/*.yml and no .gitlab-ci.yml")


@check(
    "PR-CI-002",
    "pipeline",
    Severity.ERROR,
    title="Tests pass before any deploy",
    why="A deploy job that does not wait for the tests ships code nobody has checked.",
    fix=f"Make each deploy job `needs:` the test job (directly or through the build); {_CI}.",
)
def tests_before_deploy(ctx: Context) -> Iterator[Hit]:
    """Every non-preview deploy job depends, transitively, on a job that runs tests."""
    for graph, job in _deploys(ctx):
        if not any(_runs_tests(ctx, other) for other in [job, *_ancestors(graph, job)]):
            yield Hit(f"job {job.id} deploys without waiting for a test job", job.file, job.line)


@check(
    "PR-CI-003",
    "pipeline",
    Severity.ERROR,
    title="Production deploys only after staging",
    why="Staging is where a release meets real infrastructure and migrations before users "
    "do; skipping it makes production the test environment.",
    fix=f"Make the production job `needs:` the staging deploy (and its smoke test); {_CI}.",
)
def staging_first(ctx: Context) -> Iterator[Hit]:
    """Every production deploy job depends, transitively, on a staging deploy job."""
    for graph, job in _deploys(ctx):
        if job.tier == "production" and not any(
            other.deploys and other.tier == "staging" for other in _ancestors(graph, job)
        ):
            yield Hit(
                f"job {job.id} deploys to production without a staging deploy before it",
                job.file,
                job.line,
            )


@check(
    "PR-CI-004",
    "pipeline",
    Severity.ERROR,
    title="Production deploys are gated",
    why="A production release should wait for a person (or an environment's protection "
    "rules), not follow every merge automatically.",
    fix="GitHub: give the job `environment: production` and required reviewers in Settings "
    "-> Environments. GitLab: `when: manual` on a protected environment. " + _CI + ".",
)
def gated_production(ctx: Context) -> Iterator[Hit]:
    """GitHub production jobs name an environment; GitLab ones are manual."""
    gitlab_files = {file for file, _ in ctx.gitlab_ci}
    for _graph, job in _deploys(ctx):
        if job.tier != "production":
            continue
        if job.file in gitlab_files and not job.manual:
            yield Hit(
                f"job {job.id} deploys to production without `when: manual`", job.file, job.line
            )
        elif job.file not in gitlab_files and job.environment is None:
            yield Hit(
                f"job {job.id} deploys to production without an environment", job.file, job.line
            )


def _uses(ctx: Context) -> Iterator[tuple[str, str, int | None]]:
    """Every `uses:` of workflows and local composite actions: (file, reference, line)."""
    for file, workflow in ctx.github_workflows:
        for job in (workflow.get("jobs") or {}).values():
            if not isinstance(job, LineDict):
                continue
            if isinstance(job.get("uses"), str):
                yield file, job["uses"], job.line_at("uses")
            for step in job.get("steps") or ():
                if isinstance(step, LineDict) and isinstance(step.get("uses"), str):
                    yield file, step["uses"], step.line_at("uses")
    for file, action in ctx.github_actions:
        for step in (action.get("runs") or {}).get("steps") or ():
            if isinstance(step, LineDict) and isinstance(step.get("uses"), str):
                yield file, step["uses"], step.line_at("uses")


@check(
    "PR-CI-005",
    "pipeline",
    Severity.ERROR,
    title="Third-party actions are pinned by commit SHA",
    why="A tag or branch of someone else's repository can be moved to malicious code that "
    "then runs with your secrets (as happened to tj-actions/changed-files).",
    fix="Pin `uses: owner/action@<40-hex SHA> # vX.Y.Z` and let Dependabot bump it.",
)
def pinned_actions(ctx: Context) -> Iterator[Hit]:
    """Every non-local `uses:` ends in a full commit SHA (or a docker digest)."""
    for file, ref, line in _uses(ctx):
        if ref.startswith("./") or (ref.startswith("docker://") and _DIGEST.search(ref)):
            continue
        if not _SHA.search(ref):
            yield Hit(f"{ref} is not pinned to a commit SHA", file, line)


@check(
    "PR-CI-006",
    "pipeline",
    Severity.ERROR,
    title="GitLab CI images have a version",
    why="A job image without a tag (or `latest`) changes under the pipeline: a passing "
    "pipeline cannot be reproduced.",
    fix="Pin every `image:` to an exact tag or digest.",
)
def gitlab_images(ctx: Context) -> Iterator[Hit]:
    """Every `image:` in the GitLab pipeline has a tag other than latest."""
    for file, config in ctx.gitlab_ci:
        for key, value in [("(top level)", config), *config.items()]:
            if not isinstance(value, LineDict) or "image" not in value:
                continue
            image = value["image"]
            name = image.get("name") if isinstance(image, dict) else image
            if not isinstance(name, str) or "$" in name or _DIGEST.search(name):
                continue
            if image_tag(name) in (None, "latest"):
                yield Hit(f"{key}: image {name} has no version", file, value.line_at("image"))


def _write_scopes(permissions: Any) -> list[str]:
    if permissions == "write-all":
        return ["write-all"]
    if isinstance(permissions, dict):
        return [f"{k}: write" for k, v in permissions.items() if v == "write"]
    return []


@check(
    "PR-CI-007",
    "pipeline",
    Severity.ERROR,
    title="Workflows grant the token least privilege",
    why="Without `permissions:` the GITHUB_TOKEN may get write access to the whole "
    "repository in every job, including the ones that run third-party code.",
    fix="Set `permissions: {}` (or contents: read) at the top and grant writes per job. "
    + _CI
    + ".",
)
def least_privilege(ctx: Context) -> Iterator[Hit]:
    """Each workflow restricts the token at the top, and grants writes only per job."""
    for file, workflow in ctx.github_workflows:
        jobs_block = workflow.get("jobs") or {}
        top = workflow.get("permissions")
        if "permissions" not in workflow and not all(
            isinstance(job, dict) and "permissions" in job for job in jobs_block.values()
        ):
            yield Hit(
                "no top-level `permissions:` (the token gets the repository default)",
                file,
                workflow.line or 1,
            )
        elif _write_scopes(top):
            yield Hit(
                f"top-level permissions grant {', '.join(_write_scopes(top))} to every job",
                file,
                workflow.line_at("permissions"),
            )
        for job_id, job in jobs_block.items():
            if isinstance(job, LineDict) and job.get("permissions") == "write-all":
                yield Hit(
                    f"job {job_id} has permissions: write-all", file, job.line_at("permissions")
                )


@check(
    "PR-CI-008",
    "pipeline",
    Severity.ERROR,
    title="There is a rollback path",
    why="When a release goes wrong the fastest fix is going back; working out how during an "
    "incident costs minutes of outage.",
    fix="Add a rollback job or workflow (or a scripts/rollback.sh the pipeline runs on a "
    f"failed smoke test); {_CI}.",
)
def rollback_path(ctx: Context) -> Iterator[Hit]:
    """When something deploys, a job, workflow or script rolls back."""
    deploys = list(_deploys(ctx))
    if not deploys:
        return
    all_jobs = [job for graph in jobs(ctx) for job in graph.values()]
    scripts = [
        rel
        for rel in ctx.repo.files
        if _ROLLBACK.search(rel.rsplit("/", 1)[-1].lower()) and not rel.endswith(_DOC_SUFFIXES)
    ]
    if not scripts and not any(job.is_rollback or _ROLLBACK.search(job.text) for job in all_jobs):
        _graph, job = deploys[0]
        yield Hit("deploys have no rollback job, workflow or script", job.file, job.line)
