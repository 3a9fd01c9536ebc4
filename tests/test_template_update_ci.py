"""The rendered CI opens template-update pull/merge requests, and nothing else runs for them.

The workflow files themselves are linted with the others in test_pipelines.py
(actionlint, zizmor, the vendor schemas, shellcheck of GitLab job scripts);
scripts/template-update.sh is run for real in test_update.py.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from docs_helpers import Renders
from test_pipelines import load

# A scheduled pipeline of the default branch, started for a template update.
UPDATE_PIPELINE = '$TEMPLATE_UPDATE == "true"'


def test_github_template_update_runs_on_a_schedule_and_on_demand(renders: Renders) -> None:
    project = renders.get(ci="github")
    workflow = load(project / ".github/workflows/template-update.yml")
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"}
    assert workflow["permissions"] == {}
    job = workflow["jobs"]["update"]
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    script = job["steps"][-1]["run"]
    assert 'scripts/template-update.sh "$body"' in script
    assert '--body-file "$body"' in script
    assert (project / "scripts/template-update.sh").stat().st_mode & 0o111


def effective_rules(config: dict[str, Any], name: str) -> list[dict[str, Any]] | None:
    """A job's rules, following `extends` (None: no rules, the job always runs)."""
    job = config[name]
    if "rules" in job:
        return list(job["rules"])
    parent = job.get("extends")
    return effective_rules(config, parent) if isinstance(parent, str) else None


@pytest.mark.parametrize("platform", ["kubernetes", "fly", "compose"])
def test_gitlab_template_update_pipeline_runs_that_job_alone(
    renders: Renders, platform: str
) -> None:
    project = renders.get(ci="gitlab", platform=platform)
    config = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    assert UPDATE_PIPELINE in config["workflow"]["rules"][0]["if"]
    jobs = [
        name
        for name, job in config.items()
        if isinstance(job, dict) and "script" in job and not name.startswith(".")
    ]
    assert "template-update" in jobs
    for name in jobs:
        rules = effective_rules(config, name)
        assert rules, f"{name} has no rules: it would run in template-update pipelines"
        first = rules[0]
        if name == "template-update":
            assert first["if"].startswith(UPDATE_PIPELINE)
            assert "schedule" in first["if"]
            assert "web" in first["if"]
        elif all("merge_request_event" in rule.get("if", "") for rule in rules):
            continue  # merge request pipelines only
        else:
            assert first == {"if": UPDATE_PIPELINE, "when": "never"}, name
