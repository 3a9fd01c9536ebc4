"""Django services: only the health contract's paths skip Django's Host and CSRF checks.

The probe middleware answers the health paths before CommonMiddleware checks the
Host header (kubelet probes send the pod IP). A team's own routes, added to
app/urls.py as Django teaches, must keep every check, and must not break the
middleware, whatever their shape (path converters included).
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import include_yaml, render
from servers import free_port
from service_runner import Response, Service, container_command, get, run_step

PATHS = include_yaml("health.yml")["paths"]
SECRET_KEY = "django-secret-" + "k" * 50
FOREIGN_HOST = "evil.example"
POD_IP = "10.1.2.3"

# What a team adds to app/urls.py: a state-changing API route and a route with a converter.
TEAM_VIEWS = """

from django.http import HttpRequest, JsonResponse


def transfer(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"moved": True})


def item(request: HttpRequest, pk: int) -> JsonResponse:
    return JsonResponse({"pk": pk})
"""
TRANSFER_ROUTE = 'urlpatterns += [path("api/transfer", transfer)]\n'
CONVERTER_ROUTE = 'urlpatterns += [path("items/<int:pk>", item)]\n'


@pytest.fixture(scope="module")
def project(template_src: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Django service without dependencies (the middleware needs none), installed."""
    project = render(
        template_src,
        tmp_path_factory.mktemp("django") / "svc",
        language="python",
        framework="django",
        database="none",
        cache="none",
    )
    run_step(project, "python", "install")
    return project


@pytest.fixture
def with_routes(project: Path) -> Iterator[object]:
    """Start the service after adding the given team routes to app/urls.py."""
    urls = project / "app" / "urls.py"
    original = urls.read_text()
    services: list[Service] = []

    def start(*routes: str) -> Service:
        urls.write_text(original + TEAM_VIEWS + "\n" + "".join(routes))
        env = {"SECRET_KEY": SECRET_KEY, "APP_ENV": "production", "WEB_CONCURRENCY": "1"}
        service = Service(project, "python", container_command(project), env, free_port())
        services.append(service.start())
        service.wait_healthy()
        return service

    yield start
    for service in services:
        service.stop()
    urls.write_text(original)


def send(method: str, url: str, host: str | None = None) -> Response:
    """One request with an optional Host header; HTTP errors are answers too."""
    headers = {"Host": host} if host else {}
    data = b"{}" if method == "POST" else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback only
            return Response(answer.status, answer.read().decode(), 0.0)
    except urllib.error.HTTPError as error:
        return Response(error.code, error.read().decode(), 0.0)


def test_a_team_route_keeps_the_host_and_csrf_checks(with_routes: object) -> None:
    service = with_routes(TRANSFER_ROUTE)  # type: ignore[operator]
    transfer = service.base_url + "/api/transfer"
    assert send("POST", transfer, host=FOREIGN_HOST).status == 400, "Host check skipped"
    assert send("POST", transfer).status == 403, "CSRF check skipped"
    # The health contract's paths still answer a probe that sends the pod IP as Host.
    for path in PATHS.values():
        assert send("GET", service.base_url + path, host=POD_IP).status == 200, path


def test_a_route_with_a_converter_does_not_break_the_workers(with_routes: object) -> None:
    service = with_routes(CONVERTER_ROUTE)  # type: ignore[operator]
    answer = get(service.base_url + "/items/7")
    assert (answer.status, answer.json()) == (200, {"pk": 7})
    assert send("GET", service.base_url + "/items/7", host=FOREIGN_HOST).status == 400
    assert send("GET", service.base_url + PATHS["liveness"], host=POD_IP).status == 200
