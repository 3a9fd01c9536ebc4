"""The rendered docs: runbook commands per platform, readiness checklist, guide, README, lint."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from docs_helpers import (
    NAMESPACE,
    SERVICE,
    Renders,
    answers_for,
    deployment_id,
    deployments,
)
from helpers import REPO_ROOT, answers_file, choices, env_vars_for, include_yaml, stacks
from markdown_checks import (
    broken_links,
    code_blocks,
    flowchart_edges,
    mermaid_errors,
    node_labels,
    relative_links,
)

DEPLOYMENTS = deployments()
DOCS = (
    "README.md",
    "docs/deployment.md",
    "docs/production-readiness.md",
    "docs/runbooks/rollback.md",
)
PROD_NS = f"{NAMESPACE}-production"
DEFAULT_PORTS = {"node": 3000, "python": 8000, "go": 8080}
COMPOSE = f"docker compose --project-name {SERVICE} -f compose.yaml -f compose.production.yaml"
SECTIONS = ["Application", "Infrastructure", "Monitoring", "Security", "Operations"]


def _project(renders: Renders, index: int) -> tuple[dict[str, Any], Path]:
    answers = answers_for(index, DEPLOYMENTS[index])
    return answers, renders.get(**answers)


def _expected_commands(shape: dict[str, str], image: str) -> list[str]:  # noqa: PLR0911
    """Commands the runbook must show for one platform and strategy, with the real names."""
    platform, strategy = shape["platform"], shape["strategy"]
    rollouts = shape.get("k8s_rollouts")
    if platform == "cloudrun":
        where = f"--project {(SERVICE + '-prod')[:30].rstrip('-')} --region us-central1"
        return [
            f"gcloud run services describe {SERVICE} {where} --format 'yaml(status.traffic)'",
            f"gcloud run services update-traffic {SERVICE} {where} "
            "--to-revisions <previous-revision>=100",
        ]
    if platform == "fly":
        return [
            f"fly releases --app {SERVICE} --image",
            f"fly deploy --app {SERVICE} --config fly.toml --image {image}:<previous-sha>",
            f"fly status --app {SERVICE}",
        ]
    if platform == "compose":
        return [
            "export IMAGE_TAG=<previous-sha> APP_ENV=production",
            f"{COMPOSE} up -d --wait --wait-timeout 300 --no-deps app",
            f"{COMPOSE} ps",
        ]
    if strategy == "rolling":
        return [
            f"kubectl -n {PROD_NS} rollout history deployment/{SERVICE}",
            f"kubectl -n {PROD_NS} rollout undo deployment/{SERVICE}",
            f"kubectl -n {PROD_NS} rollout status deployment/{SERVICE}",
        ]
    if rollouts == "argo":
        return [
            f"kubectl argo rollouts get rollout {SERVICE} -n {PROD_NS}",
            f"kubectl argo rollouts abort {SERVICE} -n {PROD_NS}",
            f"kubectl argo rollouts undo {SERVICE} -n {PROD_NS}",
            f"kubectl argo rollouts promote {SERVICE} -n {PROD_NS}",
            f"kubectl argo rollouts status {SERVICE} -n {PROD_NS}",
        ]
    if strategy == "blue-green":
        return [
            f"kubectl -n {PROD_NS} get service {SERVICE} -o jsonpath=",
            f"kubectl -n {PROD_NS} patch service {SERVICE} --type merge",
            f"kubectl -n {PROD_NS} patch service {SERVICE}-preview --type merge",
            """-p '{"spec":{"selector":{"slot":"blue"}}}'""",
            f"kubectl -n {PROD_NS} rollout status deployment/{SERVICE}-blue",
        ]
    return [
        f"kubectl -n {PROD_NS} scale deployment/{SERVICE}-canary --replicas=0",
        f"kubectl -n {PROD_NS} rollout undo deployment/{SERVICE}",
        f"kubectl -n {PROD_NS} rollout status deployment/{SERVICE}",
    ]


# Commands that belong to other platforms: a runbook must not show them.
FOREIGN = {
    "kubernetes": ["fly deploy", "fly releases", "docker compose", "gcloud run"],
    "fly": ["kubectl", "docker compose", "gcloud run"],
    "compose": ["kubectl", "fly deploy", "gcloud run"],
    "cloudrun": ["kubectl", "fly deploy", "docker compose"],
}


def _shell(text: str) -> str:
    """All sh code blocks of a document, joined."""
    return "\n".join(b.body for b in code_blocks(text) if b.info in {"sh", "bash", "shell"})


@pytest.mark.parametrize(
    "index", range(len(DEPLOYMENTS)), ids=[deployment_id(d) for d in DEPLOYMENTS]
)
def test_runbook_shows_this_platforms_commands_with_real_names(
    renders: Renders, index: int
) -> None:
    answers, project = _project(renders, index)
    text = (project / "docs/runbooks/rollback.md").read_text()
    shell = _shell(text)
    for command in _expected_commands(DEPLOYMENTS[index], answers_file(project)["image"]):
        assert command in shell, f"runbook lacks {command!r} in its commands"
    for command in FOREIGN[answers["platform"]]:
        assert command not in text, f"runbook shows another platform's {command!r}"
    # The script interface is the same for every platform.
    assert "scripts/rollback.sh --env production --to previous --dry-run" in shell
    assert "scripts/smoke-test.sh" in shell
    if answers["platform"] == "kubernetes":
        assert PROD_NS in text
        assert f"{NAMESPACE}-staging" in text
        assert f"{SERVICE}-production" not in text, "namespace built from the service name"
    for section in (
        "Signals",
        "Decide",
        "Roll back",
        "Verify",
        "Database migrations",
        "Communicate",
        "Checklist",
    ):
        assert re.search(rf"^## \d\. {section}$", text, re.MULTILINE), (
            f"runbook lacks section {section!r}"
        )


@pytest.mark.parametrize(
    "index", range(len(DEPLOYMENTS)), ids=[deployment_id(d) for d in DEPLOYMENTS]
)
def test_runbook_commands_are_valid_shell(renders: Renders, index: int) -> None:
    # Placeholders such as <sha> would read as redirections: give them a word's place.
    _, project = _project(renders, index)
    for block in code_blocks((project / "docs/runbooks/rollback.md").read_text()):
        if block.info != "sh":
            continue
        script = re.sub(r"<[A-Za-z_-]+>", "PLACEHOLDER", block.body)
        result = subprocess.run(
            ["bash", "-n"], input=script, text=True, capture_output=True, check=False
        )
        assert result.returncode == 0, f"line {block.line}: {result.stderr}\n{block.body}"


@pytest.mark.parametrize(("language", "framework"), stacks())
@pytest.mark.parametrize("database", choices("database"))
def test_runbook_explains_migration_rollback_for_the_stack(
    renders: Renders, language: str, framework: str, database: str
) -> None:
    answers: dict[str, Any] = {"service_name": SERVICE, "language": language, "database": database}
    if language != "go":
        answers["framework"] = framework
    text = (renders.get(**answers) / "docs/runbooks/rollback.md").read_text()
    section = text.split("## 5. Database migrations", 1)[1].split("\n## ", 1)[0]
    if database == "none":
        assert "no database" in section
    elif framework == "django":
        assert "python manage.py migrate <app_label> <previous_migration>" in section
        assert "expand" in section.lower()
    else:
        assert "schema_migrations" in section
        assert "forward only" in section
        assert "Expand, then contract" in section


@pytest.mark.parametrize(
    "index", range(len(DEPLOYMENTS)), ids=[deployment_id(d) for d in DEPLOYMENTS]
)
def test_readiness_checklist_has_five_sections_of_checked_or_actionable_items(
    renders: Renders, index: int
) -> None:
    _, project = _project(renders, index)
    text = (project / "docs/production-readiness.md").read_text()
    assert re.findall(r"^## (.+)$", text, re.MULTILINE) == SECTIONS
    for section in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
        items = re.findall(r"^- \[([ x])\] (.+(?:\n  .+)*)", section, re.MULTILINE)
        assert len(items) >= 3, f"section {section.splitlines()[0]!r} is thin"
        for done, item in items:
            if done == "x":
                assert relative_links(item), f"ticked item cites no file: {item!r}"
            else:
                assert "To do:" in item, f"open item without a suggestion: {item!r}"


@pytest.mark.parametrize(
    "index", range(len(DEPLOYMENTS)), ids=[deployment_id(d) for d in DEPLOYMENTS]
)
def test_every_cited_path_exists_in_the_rendered_project(renders: Renders, index: int) -> None:
    _, project = _project(renders, index)
    broken = [(doc, link) for doc in DOCS for link in broken_links(project / doc, project)]
    assert not broken, "\n".join(f"{doc}: {link}" for doc, link in broken)


@pytest.mark.parametrize(
    "index", range(len(DEPLOYMENTS)), ids=[deployment_id(d) for d in DEPLOYMENTS]
)
def test_mermaid_diagrams_parse_and_show_the_pipeline_and_strategy(
    renders: Renders, index: int
) -> None:
    answers, project = _project(renders, index)
    diagrams = [
        b.body
        for b in code_blocks((project / "docs/deployment.md").read_text())
        if b.info == "mermaid"
    ]
    assert len(diagrams) == 2, "expected the pipeline and the strategy diagram"
    for diagram in diagrams:
        assert mermaid_errors(diagram) == [], diagram
    pipeline, strategy = diagrams
    # The pipeline reaches production only through staging and its smoke test.
    edges = flowchart_edges(pipeline)
    chain = ["pr", "checks", "image", "staging", "smoke1", "approve", "production", "smoke2"]
    for step, following in itertools.pairwise(chain):
        assert (step, following) in edges, f"pipeline lacks {step} -> {following}"
    assert not {(a, b) for a, b in edges if b == "production" and a != "approve"}
    labels = " ".join(node_labels(strategy).values())
    if answers["strategy"] == "canary" and answers["platform"] == "kubernetes":
        assert "5%" in labels
        assert "50%" in labels
        assert "100%" in labels
    elif answers["strategy"] == "blue-green":
        assert "Blue" in labels
        assert "Green" in labels


def test_mermaid_checker_rejects_broken_diagrams() -> None:
    assert mermaid_errors("flowchart LR\n  a[PR] --> b[Checks]\n  b -->|ok| c{Ready?}") == []
    assert (
        mermaid_errors(
            "sequenceDiagram\n  participant CI\n  CI->>Cluster: apply\n  Note over CI: wait"
        )
        == []
    )
    assert mermaid_errors("flowchart XY\n  a --> b")
    assert mermaid_errors("flowchart LR\n  a --> ")
    assert mermaid_errors("flowchart LR\n  a[unclosed --> b")
    assert mermaid_errors("flowchart LR\n  subgraph s\n  a --> b")
    assert mermaid_errors("flowchart LR\n  end --> b")
    assert mermaid_errors("sequenceDiagram\n  A->>B without colon")
    assert mermaid_errors("sequenceDiagram\n  else\n")


@pytest.mark.parametrize(
    "index", range(len(DEPLOYMENTS)), ids=[deployment_id(d) for d in DEPLOYMENTS]
)
def test_env_table_lists_every_variable_from_the_spec(renders: Renders, index: int) -> None:
    answers, project = _project(renders, index)
    text = (project / "docs/deployment.md").read_text()
    rows = {
        m["name"]: m
        for m in re.finditer(
            r"^\| `(?P<name>[A-Z_]+)` \| (?P<required>yes|no) \| (?P<default>[^|]*) "
            r"\| (?P<secret>yes|no) \| (?P<desc>[^|]+) \|$",
            text,
            re.MULTILINE,
        )
    }
    expected = env_vars_for(answers)
    assert list(rows) == [var["name"] for var in expected]
    for var in expected:
        row = rows[var["name"]]
        assert row["required"] == ("yes" if var["required"] else "no")
        assert row["secret"] == ("yes" if var["secret"] else "no")
        assert var["description"] in row["desc"]
        if var.get("default_from") == "port":
            port = answers.get("port", DEFAULT_PORTS[answers["language"]])
            assert row["default"].strip() == f"`{port}`"
        elif "default" in var:
            # Booleans are spelled as an environment spells them (true/false).
            default = var["default"]
            spelled = str(default).lower() if isinstance(default, bool) else default
            assert row["default"].strip() == f"`{spelled}`"
        if var.get("notes"):
            assert " ".join(var["notes"].split()) in " ".join(text.split()), var["name"]


@pytest.mark.parametrize(("language", "framework"), stacks())
def test_readme_and_guide_show_the_languages_local_commands(
    renders: Renders, language: str, framework: str
) -> None:
    answers: dict[str, Any] = {
        "service_name": SERVICE,
        "language": language,
        "database": "postgres",
    }
    if language != "go":
        answers["framework"] = framework
    project = renders.get(**answers)
    steps = include_yaml("commands.yml")[language]
    readme = (project / "README.md").read_text()
    guide = (project / "docs/deployment.md").read_text()
    for step in ("install", "lint", "typecheck", "test"):
        for command in steps[step]:
            assert command in _shell(readme), f"README lacks {step} command {command!r}"
            assert f"`{command.replace('|', chr(92) + '|')}`" in guide, (
                f"guide lacks {step} command {command!r}"
            )
    assert "## Deploying" in readme
    for link in ("docs/deployment.md", "docs/runbooks/rollback.md", "docs/production-readiness.md"):
        assert f"]({link})" in readme


@pytest.mark.parametrize(
    "index", range(len(DEPLOYMENTS)), ids=[deployment_id(d) for d in DEPLOYMENTS]
)
def test_docs_pass_the_markdown_linter(renders: Renders, index: int) -> None:
    _, project = _project(renders, index)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pymarkdown",
            "--config",
            str(REPO_ROOT / ".pymarkdown.json"),
            "scan",
            *(str(project / doc) for doc in DOCS),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
