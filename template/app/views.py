"""The health and metrics views."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe

from app.checks import health_service
from app.config import get_settings
from app.health import HealthService, Reply
from app.metrics import metrics_text

_service: HealthService | None = None


def service() -> HealthService:
    """The health service of this process (built on first use)."""
    global _service  # noqa: PLW0603 (one per process, built lazily)
    if _service is None:
        _service = health_service(get_settings())
    return _service


def use_service(replacement: HealthService | None) -> None:
    """Answer the health views with replacement (tests); None rebuilds the default."""
    global _service  # noqa: PLW0603
    _service = replacement


def _json(reply: Reply) -> JsonResponse:
    return JsonResponse(reply.body, status=reply.status, headers=reply.headers)


@require_safe
def liveness(request: HttpRequest) -> HttpResponse:
    """GET /health."""
    return _json(service().liveness())


@require_safe
def readiness(request: HttpRequest) -> HttpResponse:
    """GET /health/ready."""
    return _json(service().readiness())


@require_safe
def detailed(request: HttpRequest) -> HttpResponse:
    """GET /health/detailed."""
    return _json(service().detailed(request.headers.get("Authorization")))


@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """GET /metrics."""
    body, content_type = metrics_text()
    return HttpResponse(body, content_type=content_type)
