"""Fly.io and Docker Compose checks: the same intent as the Kubernetes ones."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ._context import Context
from ._model import Hit, Severity
from ._registry import check
from ._yaml import LineDict, line_of
from .image import _DIGEST, image_tag
from .kubernetes import probe_hits

__all__ = ["fly_checks"]

_FLY = "answer `platform=fly`; prodready renders fly.toml"
_COMPOSE = "answer `platform=compose`; prodready renders compose.yaml"


def fly_checks(config: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every health check of a fly.toml as (where, check): http_service, services, top-level."""
    found: list[tuple[str, dict[str, Any]]] = []
    http = config.get("http_service") or {}
    found += [("http_service.checks", c) for c in http.get("checks") or () if isinstance(c, dict)]
    for service in config.get("services") or ():
        for key in ("http_checks", "tcp_checks"):
            found += [(f"services.{key}", c) for c in service.get(key) or ()]
    for name, value in (config.get("checks") or {}).items():
        if isinstance(value, dict):
            found.append((f"checks.{name}", value))
    return found


def _line(ctx: Context, file: str, pattern: str) -> int | None:
    """Return the first line of a TOML file matching a pattern (tomllib keeps no lines)."""
    text = ctx.repo.text(file) or ""
    match = re.search(pattern, text, re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else None


@check(
    "PR-FLY-001",
    "fly",
    Severity.ERROR,
    title="Fly checks the app's health",
    why="Without checks Fly routes traffic to machines that cannot serve, and a deploy "
    "moves on past a broken release.",
    fix=f"Add [[http_service.checks]] on the readiness route; {_FLY}.",
)
def fly_health(ctx: Context) -> Iterator[Hit]:
    """Each fly.toml defines a health check."""
    for file, config in ctx.fly_configs:
        if not fly_checks(config):
            yield Hit("no health checks in http_service, services or checks", file)


@check(
    "PR-FLY-002",
    "fly",
    Severity.ERROR,
    title="Fly checks hit paths the app serves",
    why="A check on a path the app does not serve fails forever: every deploy fails or "
    "machines never get traffic.",
    fix="Point the check's `path` at the app's health route (prodready's is /health/ready).",
)
def fly_paths(ctx: Context) -> Iterator[Hit]:
    """HTTP check paths are among the paths the service's code serves."""
    if not ctx.source.files:
        return
    served = ctx.source.served_paths()
    for file, config in ctx.fly_configs:
        for where, item in fly_checks(config):
            path = item.get("path")
            if isinstance(path, str):
                line = _line(ctx, file, rf"^\s*path\s*=\s*[\"']{re.escape(path)}[\"']")
                yield from probe_hits(path, served, f"fly.toml {where}", file, line)


@check(
    "PR-FLY-003",
    "fly",
    Severity.WARNING,
    title="Fly keeps at least two machines running",
    why="One machine is a single point of failure: a host problem or a deploy takes the "
    "service down.",
    fix="Set min_machines_running = 2 (answer `min_replicas`) and auto_stop_machines = "
    "'off' in [http_service].",
)
def fly_machines(ctx: Context) -> Iterator[Hit]:
    """http_service keeps two or more machines running."""
    for file, config in ctx.fly_configs:
        http = config.get("http_service")
        if isinstance(http, dict) and int(http.get("min_machines_running") or 0) < 2:
            yield Hit(
                "min_machines_running is below 2",
                file,
                _line(ctx, file, r"^\s*min_machines_running")
                or _line(ctx, file, r"^\[http_service\]"),
            )


@check(
    "PR-FLY-004",
    "fly",
    Severity.WARNING,
    title="Fly forces HTTPS",
    why="Plain HTTP sends sessions and tokens in clear text.",
    fix=f"Set force_https = true in [http_service]; {_FLY}.",
)
def fly_https(ctx: Context) -> Iterator[Hit]:
    """http_service forces HTTPS."""
    for file, config in ctx.fly_configs:
        http = config.get("http_service")
        if isinstance(http, dict) and http.get("force_https") is not True:
            yield Hit("force_https is not true", file, _line(ctx, file, r"^\[http_service\]"))


@check(
    "PR-FLY-005",
    "fly",
    Severity.WARNING,
    title="Fly machines have an explicit size",
    why="Without [[vm]] the app gets Fly's smallest default, sized for nobody's workload.",
    fix="Add [[vm]] with size and memory (answer `memory_limit`).",
)
def fly_vm(ctx: Context) -> Iterator[Hit]:
    """Check that a [[vm]] section (or vm settings) sizes the machines."""
    for file, config in ctx.fly_configs:
        if not config.get("vm") and not config.get("size"):
            yield Hit("no [[vm]] size or memory", file)


def _one_shots(ctx: Context) -> set[str]:
    """Services others wait for to complete (migrations, seeders): tasks, not servers."""
    names = set()
    for defs in ctx.compose_services.values():
        for _, service in defs:
            depends = service.get("depends_on")
            if isinstance(depends, dict):
                names |= {
                    str(name)
                    for name, cond in depends.items()
                    if isinstance(cond, dict)
                    and cond.get("condition") == "service_completed_successfully"
                }
    return names


def _app_services(ctx: Context) -> Iterator[tuple[str, list[tuple[str, LineDict]]]]:
    """Long-running services built from this repository (not databases, not one-shot tasks)."""
    tasks = _one_shots(ctx)
    for name, defs in ctx.compose_services.items():
        if name not in tasks and any("build" in service for _, service in defs):
            yield name, defs


def _merged(defs: list[tuple[str, LineDict]], key: str) -> tuple[Any, str, int | None]:
    """Return (value, file, line) of a setting from the last compose file that sets it."""
    for file, service in reversed(defs):
        if key in service:
            return service[key], file, service.line_at(key)
    file, service = defs[0]
    return None, file, line_of(service)


@check(
    "PR-CMP-001",
    "compose",
    Severity.ERROR,
    title="Compose health-checks the app",
    why="`depends_on: service_healthy` and `up --wait` need a healthcheck; without one a "
    "broken release counts as started.",
    fix=f"Add a healthcheck to the app service (or a HEALTHCHECK to the image); {_COMPOSE}.",
)
def compose_health(ctx: Context) -> Iterator[Hit]:
    """App services have a healthcheck (or their image has a HEALTHCHECK)."""
    image_has_check = any(
        d.final is not None and d.final.last("HEALTHCHECK") is not None for d in ctx.dockerfiles
    )
    for name, defs in _app_services(ctx):
        value, file, line = _merged(defs, "healthcheck")
        disabled = isinstance(value, dict) and value.get("disable") is True
        if disabled or (value is None and not image_has_check):
            yield Hit(f"service {name} has no healthcheck", file, line)


@check(
    "PR-CMP-002",
    "compose",
    Severity.ERROR,
    title="Compose limits the app's memory",
    why="Without a limit one leak takes the whole host, and every other container with it.",
    fix=f"Set deploy.resources.limits.memory (answer `memory_limit`); {_COMPOSE}.",
)
def compose_limits(ctx: Context) -> Iterator[Hit]:
    """App services have a memory limit."""
    for name, defs in _app_services(ctx):
        deploy, file, line = _merged(defs, "deploy")
        limits = ((deploy or {}).get("resources") or {}).get("limits") or {}
        mem_limit, _, _ = _merged(defs, "mem_limit")
        if "memory" not in limits and mem_limit is None:
            yield Hit(f"service {name} has no memory limit", file, line)


@check(
    "PR-CMP-003",
    "compose",
    Severity.ERROR,
    title="Compose runs the app hardened",
    why="Containers keep every default capability and may gain privileges unless told "
    "otherwise; a read-only root filesystem stops an exploit from persisting.",
    fix=f"Set cap_drop: [ALL], security_opt: [no-new-privileges:true] and read_only: true; "
    f"{_COMPOSE}.",
)
def compose_hardening(ctx: Context) -> Iterator[Hit]:
    """App services drop capabilities, forbid new privileges and use a read-only root."""
    for name, defs in _app_services(ctx):
        cap_drop, file, line = _merged(defs, "cap_drop")
        security_opt, _, _ = _merged(defs, "security_opt")
        read_only, _, _ = _merged(defs, "read_only")
        gaps = []
        if "ALL" not in (cap_drop or []):
            gaps.append("cap_drop: [ALL]")
        if not any(str(opt).startswith("no-new-privileges") for opt in security_opt or []):
            gaps.append("no-new-privileges")
        if read_only is not True:
            gaps.append("read_only: true")
        if gaps:
            yield Hit(f"service {name} lacks {', '.join(gaps)}", file, line)


@check(
    "PR-CMP-004",
    "compose",
    Severity.ERROR,
    title="Compose restarts the app",
    why="Without a restart policy a crash or a host reboot leaves the service down.",
    fix=f"Set restart: unless-stopped (or always); {_COMPOSE}.",
)
def compose_restart(ctx: Context) -> Iterator[Hit]:
    """App services have a restart policy other than 'no'."""
    for name, defs in _app_services(ctx):
        restart, file, line = _merged(defs, "restart")
        deploy, _, _ = _merged(defs, "deploy")
        policy = (deploy or {}).get("restart_policy") if isinstance(deploy, dict) else None
        if restart in (None, "no") and not policy:
            yield Hit(f"service {name} has no restart policy", file, line)


@check(
    "PR-CMP-005",
    "compose",
    Severity.ERROR,
    title="Compose images have a version",
    why="`latest` (or no tag) pulls whatever was pushed last: the host may run a database "
    "or app version nobody tested.",
    fix="Pin a tag (postgres:16.6-alpine3.21) or set the app's tag per deploy (IMAGE_TAG).",
)
def compose_images(ctx: Context) -> Iterator[Hit]:
    """Every service's image has a tag other than latest, a digest or a variable tag."""
    for name, defs in ctx.compose_services.items():
        image, file, line = _merged(defs, "image")
        if not isinstance(image, str) or "$" in image or _DIGEST.search(image):
            continue
        tag = image_tag(image)
        if tag in (None, "latest"):
            yield Hit(f"service {name} runs {image} without a version", file, line)
