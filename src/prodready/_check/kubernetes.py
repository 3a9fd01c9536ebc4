"""Kubernetes checks: workloads and the objects that keep them available and contained.

Manifests are read from the repository's YAML files (kustomize bases and
overlays, plain manifest folders), not from `kubectl kustomize` output: reading
files needs no toolchain, is fast, and keeps the file and line of every finding.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ._context import Context, K8sObject, pod_labels, pod_spec
from ._model import Hit, Severity
from ._registry import check
from ._source import normalise_path
from ._yaml import LineDict, line_of
from .image import _DIGEST, image_tag

__all__ = ["probe_hits"]

_K8S = "answer `platform=kubernetes`; prodready renders it in deploy/k8s/base"
_JOB_KINDS = ("Job", "CronJob")


def _containers(obj: K8sObject) -> list[LineDict]:
    pod = pod_spec(obj)
    containers = pod.get("containers") if pod else None
    return [c for c in containers or () if isinstance(c, LineDict)]


def _where(obj: K8sObject, node: Any = None) -> tuple[str, int | None]:
    return obj.file, line_of(node, line_of(obj.doc))


def _label(obj: K8sObject, container: LineDict | None = None) -> str:
    name = f"{obj.kind} {obj.name}"
    return f"{name}, container {container.get('name')}" if container is not None else name


def _probe_check(kind: str, ctx: Context) -> Iterator[Hit]:
    for obj in ctx.workloads:
        for container in _containers(obj)[:1]:  # the app container; sidecars come after
            if kind not in container:
                yield Hit(f"{_label(obj, container)} has no {kind}", *_where(obj, container))


@check(
    "PR-K8S-001",
    "kubernetes",
    Severity.ERROR,
    title="Workloads have a readiness probe",
    why="Without one, a pod gets traffic as soon as its process starts, and a rolling update "
    "replaces healthy pods with pods that cannot serve.",
    fix=f"Add a readinessProbe on the app's readiness route; {_K8S}.",
)
def readiness(ctx: Context) -> Iterator[Hit]:
    """Check that the app container has a readinessProbe."""
    yield from _probe_check("readinessProbe", ctx)


@check(
    "PR-K8S-002",
    "kubernetes",
    Severity.ERROR,
    title="Workloads have a liveness probe",
    why="A deadlocked process is never restarted without one.",
    fix=f"Add a livenessProbe on a route that checks no dependencies; {_K8S}.",
)
def liveness(ctx: Context) -> Iterator[Hit]:
    """Check that the app container has a livenessProbe."""
    yield from _probe_check("livenessProbe", ctx)


@check(
    "PR-K8S-003",
    "kubernetes",
    Severity.WARNING,
    title="Workloads have a startup probe",
    why="A slow start is otherwise handled by a long liveness delay, which also delays "
    "restarting a pod that hangs later.",
    fix=f"Add a startupProbe with a generous failureThreshold; {_K8S}.",
)
def startup(ctx: Context) -> Iterator[Hit]:
    """Check that the app container has a startupProbe."""
    yield from _probe_check("startupProbe", ctx)


def probe_hits(
    path: str, served: set[str], what: str, file: str, line: int | None
) -> Iterator[Hit]:
    """Return a hit when a probed HTTP path is not among the paths the app serves."""
    if normalise_path(path) not in served:
        yield Hit(f"{what} probes {path}, which the service's code does not serve", file, line)


@check(
    "PR-K8S-004",
    "kubernetes",
    Severity.ERROR,
    title="Probes hit paths the app serves",
    why="A probe on a path the app does not serve fails forever: pods never become ready, "
    "or are restarted in a loop.",
    fix="Point the probe at the app's health route (prodready's are /health and "
    "/health/ready), or add that route to the app.",
)
def probe_paths(ctx: Context) -> Iterator[Hit]:
    """Check that httpGet probes use paths found in the service's code (when the code is here)."""
    if not ctx.source.files:
        return
    served = ctx.source.served_paths()
    for obj in ctx.workloads:
        for container in _containers(obj)[:1]:
            for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
                probe = container.get(kind)
                get = probe.get("httpGet") if isinstance(probe, dict) else None
                if isinstance(get, LineDict) and isinstance(get.get("path"), str):
                    yield from probe_hits(
                        get["path"], served, f"{_label(obj)} {kind}", obj.file, get.line_at("path")
                    )


@check(
    "PR-K8S-005",
    "kubernetes",
    Severity.ERROR,
    title="Containers request CPU and memory and limit memory",
    why="Without requests the scheduler packs pods blindly and the HPA cannot compute "
    "utilisation; without a memory limit one leak takes the node's memory.",
    fix="Set resources.requests.cpu, requests.memory and limits.memory (answers "
    "`cpu_request`, `memory_request`, `memory_limit`).",
)
def resources(ctx: Context) -> Iterator[Hit]:
    """Every container of workloads and Jobs has requests and a memory limit."""
    for obj in [*ctx.workloads, *ctx.kinds(*_JOB_KINDS)]:
        for container in _containers(obj):
            res = container.get("resources") or {}
            requests = res.get("requests") or {} if isinstance(res, dict) else {}
            limits = res.get("limits") or {} if isinstance(res, dict) else {}
            missing = [f"requests.{k}" for k in ("cpu", "memory") if k not in requests]
            missing += ["limits.memory"] if "memory" not in limits else []
            if missing:
                yield Hit(
                    f"{_label(obj, container)} has no {', '.join(missing)}", *_where(obj, container)
                )


def _hardening_gaps(pod: LineDict, container: LineDict) -> list[str]:
    pod_sc = pod.get("securityContext") or {}
    sc = container.get("securityContext") or {}

    def setting(key: str) -> Any:
        return sc.get(key, pod_sc.get(key))

    gaps = []
    if setting("runAsNonRoot") is not True:
        gaps.append("runAsNonRoot: true")
    if sc.get("allowPrivilegeEscalation") is not False:
        gaps.append("allowPrivilegeEscalation: false")
    if sc.get("readOnlyRootFilesystem") is not True:
        gaps.append("readOnlyRootFilesystem: true")
    if sc.get("privileged") is True:
        gaps.append("privileged: false")
    drop = (sc.get("capabilities") or {}).get("drop") or []
    if "ALL" not in drop and "all" not in drop:
        gaps.append("capabilities.drop: [ALL]")
    seccomp = setting("seccompProfile") or {}
    if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
        gaps.append("seccompProfile.type: RuntimeDefault")
    return gaps


@check(
    "PR-K8S-006",
    "kubernetes",
    Severity.ERROR,
    title="Containers run with a hardened securityContext",
    why="Defaults allow root, privilege escalation, a writable root filesystem and every "
    "default capability: each one widens what an attacker can do after an exploit.",
    fix="Set runAsNonRoot, allowPrivilegeEscalation: false, readOnlyRootFilesystem, "
    f"capabilities.drop [ALL] and seccompProfile RuntimeDefault; {_K8S}.",
)
def security_context(ctx: Context) -> Iterator[Hit]:
    """Every container of workloads and Jobs is hardened."""
    for obj in [*ctx.workloads, *ctx.kinds(*_JOB_KINDS)]:
        pod = pod_spec(obj)
        for container in _containers(obj):
            gaps = _hardening_gaps(pod or LineDict(), container)
            if gaps:
                yield Hit(
                    f"{_label(obj, container)} lacks {', '.join(gaps)}",
                    *_where(obj, container.get("securityContext") or container),
                )


def _selects(selector: Any, labels: dict[str, Any]) -> bool:
    """Whether a label selector's matchLabels (or plain map) picks pods with these labels."""
    if not isinstance(selector, dict):
        return False
    match = selector.get("matchLabels", selector if "matchExpressions" not in selector else {})
    if not isinstance(match, dict) or not match:
        return "matchExpressions" in selector
    return all(labels.get(key) == value for key, value in match.items())


@check(
    "PR-K8S-007",
    "kubernetes",
    Severity.WARNING,
    title="A PodDisruptionBudget covers each workload",
    why="Node drains and cluster upgrades may otherwise evict every replica at once.",
    fix=f"Add a PodDisruptionBudget (minAvailable: 1 or maxUnavailable: 1); {_K8S}.",
)
def pdb(ctx: Context) -> Iterator[Hit]:
    """Check that some PodDisruptionBudget selects each workload's pods."""
    budgets = ctx.kinds("PodDisruptionBudget")
    for obj in ctx.workloads:
        labels = pod_labels(obj)
        if not any(_selects((b.doc.get("spec") or {}).get("selector"), labels) for b in budgets):
            yield Hit(f"no PodDisruptionBudget selects {_label(obj)}", *_where(obj))


@check(
    "PR-K8S-008",
    "kubernetes",
    Severity.WARNING,
    title="A HorizontalPodAutoscaler scales each Deployment or Rollout",
    why="A fixed replica count either wastes capacity or falls over at the first traffic peak.",
    fix=f"Add a HorizontalPodAutoscaler (answers `min_replicas`, `max_replicas`); {_K8S}.",
)
def hpa(ctx: Context) -> Iterator[Hit]:
    """Check that some HPA targets each Deployment and Rollout."""
    targets = set()
    for scaler in ctx.kinds("HorizontalPodAutoscaler"):
        ref = (scaler.doc.get("spec") or {}).get("scaleTargetRef") or {}
        targets.add((ref.get("kind"), ref.get("name")))
    for obj in ctx.workloads:
        # A track kept at zero replicas (a canary or idle colour) is scaled by the deploy.
        if (obj.doc.get("spec") or {}).get("replicas") == 0:
            continue
        if obj.kind in ("Deployment", "Rollout") and (obj.kind, obj.name) not in targets:
            yield Hit(f"no HorizontalPodAutoscaler targets {_label(obj)}", *_where(obj))


@check(
    "PR-K8S-009",
    "kubernetes",
    Severity.WARNING,
    title="Replicas are spread over nodes and zones",
    why="Without spread constraints the scheduler may put every replica on one node, and "
    "one node failure takes the service down.",
    fix=f"Add topologySpreadConstraints (or pod anti-affinity); {_K8S}.",
)
def spread(ctx: Context) -> Iterator[Hit]:
    """Workload pods declare topology spread or anti-affinity."""
    for obj in ctx.workloads:
        pod: dict[str, Any] = pod_spec(obj) or {}
        affinity = pod.get("affinity") or {}
        if not pod.get("topologySpreadConstraints") and not affinity.get("podAntiAffinity"):
            yield Hit(f"{_label(obj)} has no topologySpreadConstraints", *_where(obj, pod))


@check(
    "PR-K8S-010",
    "kubernetes",
    Severity.WARNING,
    title="A NetworkPolicy restricts each workload's traffic",
    why="By default every pod in the cluster can reach every other: one compromised pod "
    "can talk to your service and its database.",
    fix=f"Add a NetworkPolicy allowing only the ingress the service needs; {_K8S}.",
)
def network_policy(ctx: Context) -> Iterator[Hit]:
    """Check that some NetworkPolicy selects each workload's pods."""
    policies = ctx.kinds("NetworkPolicy")
    for obj in ctx.workloads:
        labels = pod_labels(obj)
        if not any(
            _selects((p.doc.get("spec") or {}).get("podSelector"), labels)
            or (p.doc.get("spec") or {}).get("podSelector") == {}
            for p in policies
        ):
            yield Hit(f"no NetworkPolicy selects {_label(obj)}", *_where(obj))


def _images(ctx: Context) -> Iterator[tuple[K8sObject, LineDict, str]]:
    for obj in [*ctx.workloads, *ctx.kinds(*_JOB_KINDS)]:
        pod: dict[str, Any] = pod_spec(obj) or {}
        for key in ("initContainers", "containers"):
            for container in pod.get(key) or ():
                if isinstance(container, LineDict) and isinstance(container.get("image"), str):
                    yield obj, container, container["image"]


@check(
    "PR-K8S-011",
    "kubernetes",
    Severity.ERROR,
    title="No image runs as latest",
    why="`latest` (or no tag) is resolved when a pod starts: replicas of one Deployment may "
    "run different code, and a rollback cannot name what to go back to.",
    fix="Deploy an immutable tag or digest, set per deploy (prodready's deploy script sets "
    "it through kustomize `images`).",
)
def no_latest(ctx: Context) -> Iterator[Hit]:
    """Container images carry a tag other than latest, or a deploy-time override sets one."""
    overrides = ctx.kustomize_images
    for obj, container, image in _images(ctx):
        name = image.split("@", 1)[0]
        bare = name.rsplit(":", 1)[0] if image_tag(image) else name
        if bare in overrides:
            file, entry = overrides[bare]
            if entry.get("newTag") == "latest":
                yield Hit(f"kustomize sets {bare} to latest", file, line_of(entry))
            continue
        tag = image_tag(image)
        if tag == "latest" or (tag is None and not _DIGEST.search(image)):
            yield Hit(
                f"{_label(obj, container)} runs {image} without a version",
                obj.file,
                container.line_at("image"),
            )


@check(
    "PR-K8S-012",
    "kubernetes",
    Severity.WARNING,
    title="Images written in manifests are pinned by digest",
    why="A tag can be pushed again with other content; a digest always names the same image.",
    fix="Use image@sha256:<digest>, or set the image per deploy with kustomize `images` "
    "as prodready's deploy script does.",
)
def image_digest(ctx: Context) -> Iterator[Hit]:
    """Images fixed in manifests (not set per deploy) carry a digest."""
    overrides = ctx.kustomize_images
    for obj, container, image in _images(ctx):
        name = image.split("@", 1)[0]
        bare = name.rsplit(":", 1)[0] if image_tag(image) else name
        if bare in overrides or _DIGEST.search(image):
            continue
        if image_tag(image) not in (None, "latest"):
            yield Hit(
                f"{_label(obj, container)} runs {image}, pinned by tag only",
                obj.file,
                container.line_at("image"),
            )
