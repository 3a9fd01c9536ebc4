"""Shared by the delivery tests: answer combinations, a render cache and readers for the output."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from helpers import (
    DEFAULT_FRAMEWORKS,
    FULL_STACK,
    choices,
    env_vars_for,
    include_yaml,
    questions,
    render,
)

HEALTH = include_yaml("health.yml")
ARGO_KINDS = {"Rollout", "AnalysisTemplate"}
# The Kubernetes version every manifest is validated against (includes/k8s.jinja).
KUBERNETES_VERSION = "1.32.0"


def strategies(platform: str) -> list[tuple[str, str]]:
    """(strategy, k8s_rollouts) pairs a platform offers (k8s_rollouts matters on k8s only)."""
    default = questions()["k8s_rollouts"]["default"]
    pairs = []
    for strategy in choices("strategy"):
        if platform == "compose" and strategy != "rolling":
            continue  # rejected at the prompt (tested in test_compose.py)
        if platform == "kubernetes" and strategy != "rolling":
            pairs += [(strategy, rollouts) for rollouts in choices("k8s_rollouts")]
        else:
            pairs.append((strategy, default))
    return pairs


def combo_id(answers: dict[str, Any]) -> str:
    """A short test id from the answers that vary; also the project's folder and service name.

    It is a DNS label short enough for the k8s_namespace default (42 characters).
    """
    text = re.sub(r"[^a-z0-9]+", "-", "-".join(str(value) for value in answers.values()).lower())
    return text[:42].strip("-")


def migrate_command(answers: dict[str, Any]) -> list[str]:
    """The exec-form migration command the answers imply (includes/commands.yml)."""
    framework = answers.get("framework", DEFAULT_FRAMEWORKS[answers["language"]])
    return list(include_yaml("commands.yml")["migrate"][framework])


class Renders:
    """Renders each answer set once per test module and hands back the project path."""

    def __init__(self, src: Path, root: Path) -> None:
        self._src = src
        self._root = root
        self._done: dict[str, Path] = {}

    def __call__(self, name: str, **answers: Any) -> Path:
        """Render into a folder called `name` (also the service name) unless done already."""
        if name not in self._done:
            self._done[name] = render(self._src, self._root / name, **{**FULL_STACK, **answers})
        return self._done[name]


def dockerfile_uid(project: Path) -> int:
    """The numeric user the rendered Dockerfile's runtime stage runs as."""
    users = re.findall(r"^USER\s+(\d+)(?::\d+)?\s*$", (project / "Dockerfile").read_text(), re.M)
    assert users, "the Dockerfile sets no numeric USER"
    return int(users[-1])


def plain_var_names(answers: dict[str, Any]) -> set[str]:
    """Names of the env spec's non-secret variables that apply to these answers."""
    return {var["name"] for var in applicable_vars(answers) if not var["secret"]}


def secret_var_names(answers: dict[str, Any]) -> dict[str, bool]:
    """Secret variable names that apply, mapped to whether they are required."""
    return {var["name"]: var["required"] for var in applicable_vars(answers) if var["secret"]}


def applicable_vars(answers: dict[str, Any]) -> list[dict[str, Any]]:
    """The env spec's variables for these answers, on top of the full stack these tests render."""
    return env_vars_for({**FULL_STACK, **answers})


def load_all(text: str) -> list[dict[str, Any]]:
    """Every YAML document of a multi-document stream, empty ones left out."""
    return [doc for doc in yaml.safe_load_all(text) if doc]


def image_tag(ref: str) -> str:
    """The tag of an image reference ('' when it has none)."""
    last = ref.split("@", maxsplit=1)[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else ""
