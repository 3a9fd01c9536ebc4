"""Renders shared by the docs, smoke-test and monitoring tests: one per deployment shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from helpers import choices, questions, render, stacks

# Names that differ from each other, so a doc that mixes up the service name and the
# Kubernetes namespace prefix fails.
SERVICE = "orders-api"
NAMESPACE = "shop"
OWNER = "acme"


def _allowed(question: str, value: str, answers: dict[str, Any]) -> bool:
    """Whether copier.yml's choice validator accepts value given earlier answers."""
    raw = questions()[question]["choices"]
    for choice in raw.values():
        if isinstance(choice, dict) and choice["value"] == value and "validator" in choice:
            return not jinja2.Template(choice["validator"]).render(**answers).strip()
    return True


def deployments() -> list[dict[str, str]]:
    """Every valid (platform, strategy[, k8s_rollouts]) combination, read from copier.yml."""
    out: list[dict[str, str]] = []
    for platform in choices("platform"):
        for strategy in choices("strategy"):
            if not _allowed("strategy", strategy, {"platform": platform}):
                continue
            shape = {"platform": platform, "strategy": strategy}
            if platform == "kubernetes" and strategy != "rolling":
                out += [{**shape, "k8s_rollouts": r} for r in choices("k8s_rollouts")]
            else:
                out.append(shape)
    return out


def deployment_id(shape: dict[str, str]) -> str:
    """A readable pytest id for one deployment shape."""
    return "-".join(shape.values())


def answers_for(index: int, shape: dict[str, str]) -> dict[str, Any]:
    """Answers for one shape; language, framework, CI and dependencies rotate with the index
    so that every one of them meets several platforms without a full cross product."""
    all_stacks = stacks()
    language, framework = all_stacks[index % len(all_stacks)]
    answers: dict[str, Any] = {
        **shape,
        "service_name": SERVICE,
        "owner": OWNER,
        "language": language,
        "ci": choices("ci")[index % len(choices("ci"))],
        "database": "postgres" if index % 3 != 2 else "none",
        "cache": "redis" if index % 2 else "none",
    }
    if language != "go":
        answers["framework"] = framework
    if shape["platform"] == "kubernetes":
        answers["k8s_namespace"] = NAMESPACE
    return answers


class Renders:
    """Renders each distinct set of answers once per test session (per xdist worker)."""

    def __init__(self, src: Path, root: Path) -> None:
        self._src = src
        self._root = root
        self._done: dict[tuple[tuple[str, Any], ...], Path] = {}

    def get(self, **answers: Any) -> Path:
        """The rendered project for these answers."""
        key = tuple(sorted(answers.items()))
        if key not in self._done:
            dst = self._root / f"p{len(self._done)}"
            self._done[key] = render(self._src, dst, **answers)
        return self._done[key]
