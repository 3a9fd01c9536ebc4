"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from docs_helpers import Renders
from helpers import copy_template


@pytest.fixture(scope="session")
def template_src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain (non-git) copy of the template, rendered from without cloning."""
    return copy_template(tmp_path_factory.mktemp("template-src"))


@pytest.fixture(scope="session")
def renders(template_src: Path, tmp_path_factory: pytest.TempPathFactory) -> Renders:
    """Rendered projects cached per set of answers (docs, smoke test and monitoring tests)."""
    return Renders(template_src, tmp_path_factory.mktemp("renders"))
