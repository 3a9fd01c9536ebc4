"""Every rendered combination passes its own `prodready check` out of the box.

The combinations are read from copier.yml: every (language, framework) pair on
every valid deployment shape (platform, strategy, Kubernetes rollouts), with
each CI system; databases and caches rotate so each meets several shapes. What
remains are warnings for the checklist's open items, which the rendered
docs/production-readiness.md lists as to-dos for the team.
"""

from __future__ import annotations

from typing import Any

import pytest

from docs_helpers import Renders, deployment_id, deployments
from helpers import choices, stacks
from prodready import Severity, check_repository

# Open items of the rendered checklist, and when each is open.
OPEN_ITEMS = {
    "PR-IMG-004": "base images other than distroless are pinned by tag only",
    "PR-DOC-002": "on-call rotation and escalation are for the team to name",
    "PR-DOC-004": "database backups are for the team to set up",
    "PR-SEC-002": "rate limiting is for the team to add",
    "PR-SEC-003": "security headers are for the team to add",
    "PR-SEC-005": "GitLab dependency scanning is for the team to enable",
}


def combinations() -> list[Any]:
    out = []
    index = 0
    for language, framework in stacks():
        for shape in deployments():
            for ci in choices("ci"):
                answers = {
                    **shape,
                    "language": language,
                    "ci": ci,
                    "database": "postgres" if index % 2 == 0 else "none",
                    "cache": "redis" if index % 3 == 0 else "none",
                }
                if language != "go":
                    answers["framework"] = framework
                ident = f"{language}-{framework}-{deployment_id(shape)}-{ci}"
                out.append(pytest.param(answers, id=ident))
                index += 1
    return out


@pytest.mark.parametrize("answers", combinations())
def test_every_rendered_combination_passes_its_own_check(
    renders: Renders, answers: dict[str, Any]
) -> None:
    result = check_repository(renders.get(**answers))
    errors = [f for f in result.open if result.check(f.check_id).severity is Severity.ERROR]
    assert errors == [], errors
    warned = {f.check_id for f in result.open}
    assert warned <= set(OPEN_ITEMS), warned - set(OPEN_ITEMS)
    if answers["ci"] == "github":
        assert "PR-SEC-005" not in warned  # Dependabot is rendered
    if answers["database"] == "none":
        assert "PR-DOC-004" not in warned
