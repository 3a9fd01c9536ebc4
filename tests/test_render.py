"""Every combination of the main answers renders, records its answers and leaves no Jinja."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import FULL_STACK, answers_file, choices, render, stacks


@pytest.mark.parametrize(("language", "framework"), stacks())
@pytest.mark.parametrize("platform", choices("platform"))
def test_every_stack_renders_on_every_platform(
    template_src: Path, tmp_path: Path, language: str, framework: str, platform: str
) -> None:
    project = render(
        template_src,
        tmp_path / "svc",
        language=language,
        framework=framework,
        platform=platform,
        **FULL_STACK,
    )
    recorded = answers_file(project)
    assert recorded["language"] == language
    assert recorded["platform"] == platform
    assert (project / "Dockerfile").is_file()
    assert (project / ".dockerignore").is_file()


def test_go_records_no_framework_question(template_src: Path, tmp_path: Path) -> None:
    # `framework` is not asked for Go, so it must not be recorded either.
    recorded = answers_file(render(template_src, tmp_path / "svc", language="go"))
    assert "framework" not in recorded
