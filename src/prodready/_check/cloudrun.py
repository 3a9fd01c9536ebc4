"""Google Cloud Run checks: the Knative services `gcloud run services replace` applies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ._context import Context, K8sObject
from ._model import Hit, Severity
from ._registry import check
from ._yaml import LineDict, line_of
from .kubernetes import probe_hits

_CLOUDRUN = "answer `platform=cloudrun`; prodready renders deploy/cloudrun/service.yaml"
# Cloud Run runs a revision as the project's default compute account unless told otherwise.
_DEFAULT_ACCOUNT_SUFFIX = "-compute@developer.gserviceaccount.com"
# Variable names that hold credentials: they belong in Secret Manager, not in `value:`.
_SECRET_WORDS = (
    "SECRET",
    "PASSWORD",
    "TOKEN",
    "API_KEY",
    "PRIVATE_KEY",
    "DATABASE_URL",
    "REDIS_URL",
)


def _template(service: K8sObject) -> tuple[Any, Any]:
    """Return (revision template metadata, revision spec) of a Cloud Run service."""
    spec: Any = service.doc.get("spec")
    template = spec.get("template") if isinstance(spec, dict) else None
    if not isinstance(template, LineDict):
        return None, None
    meta, rev = template.get("metadata"), template.get("spec")
    return (
        meta if isinstance(meta, LineDict) else None,
        rev if isinstance(rev, LineDict) else None,
    )


def _app_container(service: K8sObject) -> Any:
    """Return the serving container (the first one, or the one with a port)."""
    _, rev = _template(service)
    containers = [c for c in (rev or {}).get("containers") or () if isinstance(c, LineDict)]
    with_port = [c for c in containers if c.get("ports")]
    return (with_port or containers)[0] if containers else None


def _where(service: K8sObject, node: Any = None) -> tuple[str, int | None]:
    return service.file, line_of(node, line_of(service.doc))


@check(
    "PR-CR-001",
    "cloudrun",
    Severity.ERROR,
    title="Cloud Run probes the app's health",
    why="Without a startup probe a revision takes traffic as soon as its port opens, before it "
    "can reach its database; without a liveness probe a hung instance is never restarted.",
    fix=f"Add startupProbe and livenessProbe (httpGet on the health routes); {_CLOUDRUN}.",
)
def cloudrun_probes(ctx: Context) -> Iterator[Hit]:
    """Check that the serving container has an HTTP startup probe and a liveness probe."""
    for service in ctx.cloudrun_services:
        container = _app_container(service)
        if container is None:
            yield Hit(f"service {service.name} has no container", *_where(service))
            continue
        for kind in ("startupProbe", "livenessProbe"):
            if not isinstance(container.get(kind), dict):
                yield Hit(f"service {service.name} has no {kind}", *_where(service, container))


@check(
    "PR-CR-002",
    "cloudrun",
    Severity.ERROR,
    title="Cloud Run probes hit paths the app serves",
    why="A probe on a path the app does not serve fails forever: no revision ever becomes ready.",
    fix="Point httpGet.path at the app's health route (prodready's are /health and /health/ready).",
)
def cloudrun_probe_paths(ctx: Context) -> Iterator[Hit]:
    """Check that httpGet probe paths are among the paths the service's code serves."""
    if not ctx.source.files:
        return
    served = ctx.source.served_paths()
    for service in ctx.cloudrun_services:
        container = _app_container(service) or {}
        for kind in ("startupProbe", "livenessProbe"):
            probe = container.get(kind)
            http = probe.get("httpGet") if isinstance(probe, dict) else None
            path = http.get("path") if isinstance(http, dict) else None
            if isinstance(path, str):
                what = f"service {service.name} {kind}"
                yield from probe_hits(path, served, what, *_where(service, http))


@check(
    "PR-CR-003",
    "cloudrun",
    Severity.ERROR,
    title="Cloud Run sizes and bounds each revision",
    why="Without a memory limit and a maxScale ceiling, a leak or a traffic spike turns into "
    "out-of-memory restarts or an unbounded bill and database connection storm.",
    fix="Set resources.limits (cpu, memory) and the autoscaling.knative.dev/maxScale annotation "
    "(answers `memory_limit`, `max_replicas`).",
)
def cloudrun_bounds(ctx: Context) -> Iterator[Hit]:
    """Check that the container has a memory limit and the revision a maxScale."""
    for service in ctx.cloudrun_services:
        meta, _ = _template(service)
        annotations = (meta or {}).get("annotations") or {}
        if "autoscaling.knative.dev/maxScale" not in annotations:
            yield Hit(f"service {service.name} has no maxScale", *_where(service, meta))
        container = _app_container(service) or {}
        limits = (container.get("resources") or {}).get("limits") or {}
        if "memory" not in limits:
            yield Hit(f"service {service.name} has no memory limit", *_where(service, container))


@check(
    "PR-CR-004",
    "cloudrun",
    Severity.ERROR,
    title="Cloud Run runs as a dedicated service account",
    why="The default compute account holds Editor on the project: any code execution in the "
    "service could then change the whole project.",
    fix="Set spec.template.spec.serviceAccountName to an account with only the roles the "
    f"service needs; {_CLOUDRUN}.",
)
def cloudrun_identity(ctx: Context) -> Iterator[Hit]:
    """Check that the revision runs as a service account other than the default compute one."""
    for service in ctx.cloudrun_services:
        _, rev = _template(service)
        account = (rev or {}).get("serviceAccountName")
        if not isinstance(account, str) or not account or account.endswith(_DEFAULT_ACCOUNT_SUFFIX):
            yield Hit(
                f"service {service.name} runs as the default compute account", *_where(service, rev)
            )


@check(
    "PR-CR-005",
    "cloudrun",
    Severity.ERROR,
    title="Cloud Run reads secrets from Secret Manager",
    why="A secret written as an env `value` is in the repository, in every revision's "
    "configuration and visible to anyone with read access to the service.",
    fix="Use valueFrom.secretKeyRef (a Secret Manager secret and version) for credentials.",
)
def cloudrun_secrets(ctx: Context) -> Iterator[Hit]:
    """Check that credential-looking env variables come from secretKeyRef, not a value."""
    for service in ctx.cloudrun_services:
        container = _app_container(service) or {}
        for var in container.get("env") or ():
            if not isinstance(var, LineDict):
                continue
            name = str(var.get("name", ""))
            if "value" in var and any(word in name.upper() for word in _SECRET_WORDS):
                yield Hit(
                    f"service {service.name} sets {name} as a plain value", *_where(service, var)
                )


@check(
    "PR-CR-006",
    "cloudrun",
    Severity.WARNING,
    title="Cloud Run keeps an instance warm",
    why="At zero minimum instances the first request after a quiet period waits for a cold start, "
    "database connection included.",
    fix="Set the autoscaling.knative.dev/minScale annotation to 1 or more (answer `min_replicas`).",
)
def cloudrun_min_instances(ctx: Context) -> Iterator[Hit]:
    """Check that the revision sets minScale above 0 (a per-environment placeholder counts)."""
    for service in ctx.cloudrun_services:
        meta, _ = _template(service)
        value = ((meta or {}).get("annotations") or {}).get("autoscaling.knative.dev/minScale")
        if value is None or str(value).strip() == "0":
            yield Hit(f"service {service.name} may scale to zero", *_where(service, meta))
