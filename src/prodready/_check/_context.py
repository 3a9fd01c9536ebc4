"""What the checks look at, each read once and shared: Dockerfiles, manifests, pipelines, code."""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from typing import Any

from ._dockerfile import Instruction, Stage, parse
from ._repo import Repo
from ._source import Source
from ._yaml import LineDict

__all__ = ["Context", "Dockerfile", "K8sObject", "pod_spec"]

WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "Rollout"})
_DOCKERFILE = re.compile(r"^(Dockerfile|Containerfile)(\..+)?$|\.(Dockerfile|Containerfile)$")
_COMPOSE = re.compile(r"^(docker-)?compose(\.[\w-]+)?\.ya?ml$")
_FLY = re.compile(r"^fly(\.[\w-]+)?\.toml$")
# YAML that is not a Kubernetes manifest even when it has apiVersion and kind.
_NOT_MANIFEST_DIRS = (".github/", ".gitlab/")


@dataclass(frozen=True)
class Dockerfile:
    """A parsed Dockerfile."""

    file: str
    instructions: list[Instruction]
    stages: list[Stage]

    @property
    def final(self) -> Stage | None:
        """The stage that becomes the image (the last one)."""
        return self.stages[-1] if self.stages else None


@dataclass(frozen=True)
class K8sObject:
    """One Kubernetes object from a manifest file."""

    file: str
    doc: LineDict

    @property
    def kind(self) -> str:
        """The object's kind."""
        return str(self.doc.get("kind"))

    @property
    def name(self) -> str:
        """metadata.name ('' when absent)."""
        meta = self.doc.get("metadata")
        return str(meta.get("name", "")) if isinstance(meta, dict) else ""


def pod_spec(obj: K8sObject) -> LineDict | None:
    """Return the pod spec of a workload, Job or CronJob, or None."""
    spec: Any = obj.doc.get("spec")
    if obj.kind == "CronJob" and isinstance(spec, dict):
        spec = (spec.get("jobTemplate") or {}).get("spec")
    template = spec.get("template") if isinstance(spec, dict) else None
    pod = template.get("spec") if isinstance(template, dict) else None
    return pod if isinstance(pod, LineDict) else None


def pod_labels(obj: K8sObject) -> dict[str, Any]:
    """Return the labels of a workload's pod template."""
    spec: Any = obj.doc.get("spec") or {}
    template = spec.get("template") if isinstance(spec, dict) else None
    meta = template.get("metadata") if isinstance(template, dict) else None
    labels = meta.get("labels") if isinstance(meta, dict) else None
    return labels if isinstance(labels, dict) else {}


class Context:
    """The repository being checked and everything parsed from it, parsed lazily once."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo

    @functools.cached_property
    def source(self) -> Source:
        """The service's code."""
        return Source.read(self.repo)

    @functools.cached_property
    def dockerfiles(self) -> list[Dockerfile]:
        """Every Dockerfile (and Containerfile), the root one first."""
        found = []
        for rel in sorted(
            (r for r in self.repo.files if _DOCKERFILE.search(r.rsplit("/", 1)[-1])),
            key=lambda r: (r.count("/"), r),
        ):
            text = self.repo.text(rel)
            if text is not None:
                instructions, stages = parse(text)
                if stages:
                    found.append(Dockerfile(rel, instructions, stages))
        return found

    @functools.cached_property
    def k8s_objects(self) -> list[K8sObject]:
        """Every Kubernetes object in the repository's YAML (kustomize sources included)."""
        objects = []
        for rel in self.repo.files:
            if not rel.endswith((".yaml", ".yml")) or rel.startswith(_NOT_MANIFEST_DIRS):
                continue
            name = rel.rsplit("/", 1)[-1]
            if _COMPOSE.match(name) or name == ".gitlab-ci.yml":
                continue
            for doc in self.repo.yaml(rel) or ():
                if (
                    isinstance(doc, LineDict)
                    and isinstance(doc.get("apiVersion"), str)
                    and isinstance(doc.get("kind"), str)
                ):
                    objects.append(K8sObject(rel, doc))
        return objects

    def kinds(self, *kinds: str) -> list[K8sObject]:
        """Kubernetes objects of these kinds."""
        return [obj for obj in self.k8s_objects if obj.kind in kinds]

    @functools.cached_property
    def workloads(self) -> list[K8sObject]:
        """Long-running workloads that have a pod template."""
        return [obj for obj in self.kinds(*WORKLOAD_KINDS) if pod_spec(obj) is not None]

    @functools.cached_property
    def cloudrun_services(self) -> list[K8sObject]:
        """Cloud Run services: Knative Services (the YAML `gcloud run services replace` applies)."""
        return [
            obj
            for obj in self.kinds("Service")
            if str(obj.doc.get("apiVersion", "")).startswith("serving.knative.dev/")
        ]

    @functools.cached_property
    def kustomize_images(self) -> dict[str, tuple[str, LineDict]]:
        """Kustomization `images` overrides by image name: (file, entry)."""
        images: dict[str, tuple[str, LineDict]] = {}
        for obj in self.kinds("Kustomization"):
            for entry in obj.doc.get("images") or ():
                if isinstance(entry, LineDict) and isinstance(entry.get("name"), str):
                    images[entry["name"]] = (obj.file, entry)
        return images

    @functools.cached_property
    def compose_services(self) -> dict[str, list[tuple[str, LineDict]]]:
        """Compose services by name, with every file that defines them (base file first)."""
        services: dict[str, list[tuple[str, LineDict]]] = {}
        files = [r for r in self.repo.files if _COMPOSE.match(r.rsplit("/", 1)[-1])]
        # compose.yaml before compose.production.yaml: overrides come last.
        for rel in sorted(files, key=lambda r: (r.count("."), r)):
            for doc in self.repo.yaml(rel) or ():
                block = doc.get("services") if isinstance(doc, dict) else None
                if not isinstance(block, dict):
                    continue
                for name, service in block.items():
                    if isinstance(service, LineDict):
                        services.setdefault(str(name), []).append((rel, service))
        return services

    @functools.cached_property
    def fly_configs(self) -> list[tuple[str, dict[str, Any]]]:
        """(file, parsed TOML) of every fly.toml (and fly.<env>.toml)."""
        out = []
        for rel in self.repo.files:
            if _FLY.match(rel.rsplit("/", 1)[-1]):
                text = self.repo.text(rel)
                if text is None:
                    continue
                try:
                    out.append((rel, tomllib.loads(text)))
                except tomllib.TOMLDecodeError:
                    continue
        return out

    @functools.cached_property
    def github_workflows(self) -> list[tuple[str, LineDict]]:
        """(file, workflow) of every GitHub Actions workflow."""
        out = []
        for rel in self.repo.under(".github/workflows", ".yml", ".yaml"):
            docs = self.repo.yaml(rel) or ()
            if docs and isinstance(docs[0], LineDict):
                out.append((rel, docs[0]))
        return out

    @functools.cached_property
    def github_actions(self) -> list[tuple[str, LineDict]]:
        """(file, action) of the repository's own composite actions."""
        out = []
        for rel in self.repo.under(".github", "action.yml", "action.yaml"):
            docs = self.repo.yaml(rel) or ()
            if docs and isinstance(docs[0], LineDict):
                out.append((rel, docs[0]))
        return out

    @functools.cached_property
    def gitlab_ci(self) -> list[tuple[str, LineDict]]:
        """(file, config) of .gitlab-ci.yml and the local files it includes."""
        out: list[tuple[str, LineDict]] = []
        pending = [".gitlab-ci.yml"] if self.repo.exists(".gitlab-ci.yml") else []
        while pending:
            rel = pending.pop(0)
            docs = self.repo.yaml(rel) or ()
            if not docs or not isinstance(docs[0], LineDict) or any(r == rel for r, _ in out):
                continue
            out.append((rel, docs[0]))
            includes = docs[0].get("include") or []
            for item in includes if isinstance(includes, list) else [includes]:
                local = item.get("local") if isinstance(item, dict) else item
                if isinstance(local, str) and self.repo.exists(local.lstrip("/")):
                    pending.append(local.lstrip("/"))
        return out

    @functools.cached_property
    def docs(self) -> list[tuple[str, str]]:
        """(file, text) of the repository's documentation (Markdown, reStructuredText, text)."""
        out = []
        for rel in self.repo.files:
            if rel.lower().endswith((".md", ".rst", ".txt", ".adoc")) and not rel.lower().endswith(
                ("requirements.txt", "requirements-dev.txt", "license.txt")
            ):
                text = self.repo.text(rel)
                if text is not None:
                    out.append((rel, text))
        return out

    @property
    def platforms(self) -> set[str]:
        """The deployment platforms the repository configures."""
        found = set()
        if self.workloads:
            found.add("kubernetes")
        if self.fly_configs:
            found.add("fly")
        if self.compose_services:
            found.add("compose")
        if self.cloudrun_services:
            found.add("cloudrun")
        return found
