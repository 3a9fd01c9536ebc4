"""Middleware: per-request telemetry, and health probes answered whatever their Host header."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import ResolverMatch, resolve

from app.metrics import UNMATCHED_ROUTE, request_done
from app.urls import urlpatterns

GetResponse = Callable[[HttpRequest], HttpResponse]
# The paths the platform probes: every route of app.urls (health and metrics).
PROBE_PATHS = frozenset("/" + str(pattern.pattern) for pattern in urlpatterns)


class RequestTelemetryMiddleware:
    """One metrics update and one JSON log line per request (outermost middleware)."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Answer request, then record it with its route pattern."""
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        route = "/" + match.route if match is not None else UNMATCHED_ROUTE
        request_done(request.method or "GET", route, response.status_code, started)
        return response


class HealthProbeMiddleware:
    """Answer the probe paths before CommonMiddleware checks Host against ALLOWED_HOSTS.

    Kubelet and load balancer probes connect to the pod IP and send it as Host,
    which no ALLOWED_HOSTS list can know in advance; these views expose nothing
    that depends on the host name, so they answer any Host.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        # Resolved once: probes arrive every few seconds from every load balancer.
        self.matches: dict[str, ResolverMatch] = {path: resolve(path) for path in PROBE_PATHS}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Call the probe view directly, or pass request on to the rest of the stack."""
        match = self.matches.get(request.path_info)
        if match is None:
            return self.get_response(request)
        request.resolver_match = match
        response: HttpResponse = match.func(request, *match.args, **match.kwargs)
        return response
