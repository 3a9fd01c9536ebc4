"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import copy_template


@pytest.fixture(scope="session")
def template_src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain (non-git) copy of the template, rendered from without cloning."""
    return copy_template(tmp_path_factory.mktemp("template-src"))
