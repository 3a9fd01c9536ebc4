"""Language-independent findings: Procfile, Dockerfiles, CI, manifests, .env samples."""

from __future__ import annotations

import posixpath
import re
from typing import Any

import yaml

from ._collect import Findings
from ._ports import listen_port_var
from ._repo import Repo

__all__ = ["detect_delivery", "detect_procfile"]

_PROCFILE_WEB = re.compile(r"^web:\s*(.+?)\s*$", re.M)
_PROCFILE_PORT = re.compile(r"(?:--port[= ]|--bind[= ]\S*:|-b\s+\S*:|-p\s+|:)(\d{2,5})\b")
_PROCFILE_PORT_VAR = re.compile(r"\$\{?([A-Z_]*PORT)\}?")
_DOCKERFILE = re.compile(r"(^|/)(Dockerfile|Containerfile)([.-][\w.-]+)?$|\.[Dd]ockerfile$")
_EXPOSE = re.compile(r"^[ \t]*EXPOSE\s+(\d{2,5})", re.M | re.I)
_ENV_SAMPLE = re.compile(r"^[ \t]*(?:export\s+)?([A-Z_][A-Z0-9_]*)\s*=", re.M)
_ENV_SAMPLES = (
    ".env.example",
    ".env.sample",
    ".env.template",
    ".env.dist",
    "example.env",
    ".env.defaults",
)
_K8S_KIND = re.compile(
    r"^kind:\s*(Deployment|StatefulSet|DaemonSet|Service|Ingress|Rollout|CronJob|Job|ConfigMap)\s*$",
    re.M,
)
# Block style (indented lines up to `path:`) or flow style (`{httpGet: {path: /x}}`).
# Horizontal whitespace only inside the repetition: `\s` there also matches newlines
# and made the block branch backtrack exponentially on flow-style probes.
_PROBE_PATH = re.compile(
    r"(?:livenessProbe|readinessProbe|startupProbe):"
    r"(?:[ \t]*\n(?:[ \t]+\S.*\n|[ \t]*\n)*?[ \t]+path:|[ \t]*\{[^}\n]*?\bpath:)"
    r"[ \t]*['\"]?(/[\w/.-]*)",
    re.M,
)
_COMPOSE = re.compile(r"(^|/)(docker-)?compose([.-][\w.-]+)?\.ya?ml$")
_CI_FILES = {
    ".gitlab-ci.yml": "GitLab CI",
    ".circleci/config.yml": "CircleCI",
    "Jenkinsfile": "Jenkins",
    "azure-pipelines.yml": "Azure Pipelines",
    "bitbucket-pipelines.yml": "Bitbucket Pipelines",
    ".travis.yml": "Travis CI",
}


def detect_procfile(repo: Repo, found: Findings) -> None:
    """Record the Procfile's web process: how the team starts the service, and its port."""
    text = repo.text("Procfile")
    match = _PROCFILE_WEB.search(text or "")
    if not text or not match:
        return
    line = text.count("\n", 0, match.start()) + 1
    command = match.group(1)
    found.add("start_command", command, "Procfile", line, "high", "Procfile web process")
    port = _PROCFILE_PORT.search(command)
    if port:
        found.add("port", int(port.group(1)), "Procfile", line, "high", "Procfile")
    variable = _PROCFILE_PORT_VAR.search(command)
    if variable and listen_port_var(variable.group(1)):
        found.add("port_env", variable.group(1), "Procfile", line, "high", "Procfile")


def detect_delivery(repo: Repo, found: Findings) -> None:
    """Existing Dockerfiles, CI workflows, deployment manifests and documented env vars."""
    for name in repo.files:
        if _DOCKERFILE.search(name):
            found.add("dockerfiles", name, name, None, "high", "Dockerfile")
            for hit in repo.search(_EXPOSE, [name]):
                found.hit("port", int(hit.group(1)), hit, "medium", "Dockerfile EXPOSE")
    _ci(repo, found)
    _manifests(repo, found)
    for name in _ENV_SAMPLES:
        for hit in repo.search(_ENV_SAMPLE, [name]):
            found.hit("env_vars", hit.group(1), hit, "high", f"documented in {name}")


def _ci(repo: Repo, found: Findings) -> None:
    for name in repo.files:
        if name.startswith(".github/workflows/") and name.endswith((".yml", ".yaml")):
            found.add("ci_workflows", name, name, None, "high", _workflow_summary(repo.text(name)))
        elif name in _CI_FILES:
            found.add("ci_workflows", name, name, None, "high", _CI_FILES[name])


def _workflow_summary(text: str | None) -> str:
    """'GitHub Actions: <name> (on: push, pull_request)'."""
    try:
        data = yaml.safe_load(text or "")
    except yaml.YAMLError:
        return "GitHub Actions (not valid YAML)"
    if not isinstance(data, dict):
        return "GitHub Actions"
    # YAML 1.1 reads the key `on` as True.
    triggers: Any = data.get("on", data.get(True))
    if isinstance(triggers, dict):
        names = list(triggers)
    elif isinstance(triggers, list):
        names = triggers
    else:
        names = [triggers] if triggers else []
    title = data.get("name")
    label = f"GitHub Actions: {title}" if title else "GitHub Actions"
    return f"{label} (on: {', '.join(str(item) for item in names)})"


_PLATFORM_FILES = {
    "fly.toml": "Fly.io",
    "Chart.yaml": "Helm chart",
    "kustomization.yaml": "kustomize",
    "kustomization.yml": "kustomize",
    "render.yaml": "Render",
    "app.json": "Heroku app.json",
    "railway.json": "Railway",
    "railway.toml": "Railway",
    "app.yaml": "App Engine",
    "Procfile": "Procfile",
}
_FLY_CHECK_PATH = re.compile(r"""^[ \t]*path\s*=\s*['"](/[\w/.-]*)['"]""", re.M)


def _manifests(repo: Repo, found: Findings) -> None:
    for name in repo.files:
        kind = _manifest_kind(repo, name)
        if not kind:
            continue
        found.add("manifests", name, name, None, "high", kind)
        if kind == "Fly.io":
            for hit in repo.search(_FLY_CHECK_PATH, [name]):
                found.hit("health_path", hit.group(1), hit, "high", "fly.toml check")
        elif kind == "Kubernetes":
            for hit in repo.search(_PROBE_PATH, [name]):
                found.hit("health_path", hit.group(1), hit, "high", "Kubernetes probe")


def _manifest_kind(repo: Repo, name: str) -> str | None:
    base = posixpath.basename(name)
    if base in _PLATFORM_FILES:
        return _PLATFORM_FILES[base]
    if _COMPOSE.search(name):
        return "Docker Compose"
    if name.endswith((".yaml", ".yml")) and not name.startswith(".github/"):
        text = repo.text(name) or ""
        if "apiVersion:" in text and _K8S_KIND.search(text):
            return "Kubernetes"
    return None
