"""Every rendered service keeps the health contract against a real Postgres and Redis.

For each language and framework: render with both dependencies, install and
build with the project's own commands, run its own lint/typecheck/tests, apply
its migrations, then start the container command natively and check each
endpoint, dependency failures (stopped and hung servers), secrets, logs,
metrics, graceful shutdown and fail-fast configuration.
"""

from __future__ import annotations

import http.client
import json
import random
import signal
import string
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from helpers import FULL_STACK, include_yaml, render, stacks
from servers import PG_PASSWORD, REDIS_PASSWORD, Postgres, Redis, free_port
from service_runner import (
    COMMANDS,
    Service,
    container_command,
    get,
    native_argv,
    run_once,
    run_step,
)

CONTRACT = include_yaml("health.yml")
PATHS = CONTRACT["paths"]
METRICS = CONTRACT["metrics"]
DETAILED = CONTRACT["detailed"]
UNLOGGED = [PATHS[key] for key in CONTRACT["probes_unlogged"]["paths"]]
CHECK_TIMEOUT_S = 1.5
HEALTH_TOKEN = "health-token-5f4e3d2c1b0a"
SECRET_KEY = "django-secret-" + "k" * 50
SECRETS = (PG_PASSWORD, REDIS_PASSWORD, HEALTH_TOKEN, SECRET_KEY)
AUTH = {"Authorization": f"Bearer {HEALTH_TOKEN}"}

STACK_PARAMS = [
    pytest.param(stack, id="-".join(stack), marks=pytest.mark.xdist_group("-".join(stack)))
    for stack in stacks()
]


@pytest.fixture(scope="module", params=STACK_PARAMS)
def built(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, template_src: Path
) -> tuple[Path, str, str]:
    """A rendered project with postgres and redis, installed and built."""
    language, framework = request.param
    project = render(
        template_src,
        tmp_path_factory.mktemp("svc") / f"{language}-{framework}-svc",
        language=language,
        framework=framework,
        **FULL_STACK,
    )
    run_step(project, language, "install")
    run_step(project, language, "build")
    return project, language, framework


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    server = Postgres().init()
    yield server
    server.destroy()


@pytest.fixture(scope="module")
def redis_server() -> Iterator[Redis]:
    server = Redis().start()
    yield server
    server.stop()


def service_env(postgres: Postgres, redis_server: Redis, framework: str) -> dict[str, str]:
    """A complete, valid environment for a service with both dependencies."""
    env = {
        "APP_ENV": "production",
        "LOG_LEVEL": "info",
        "APP_VERSION": "1.2.3",
        "DATABASE_URL": postgres.url,
        "REDIS_URL": redis_server.url,
        DETAILED["token_variable"]: HEALTH_TOKEN,
        "HEALTH_CHECK_TIMEOUT_MS": str(int(CHECK_TIMEOUT_S * 1000)),
        "SHUTDOWN_DELAY_SECONDS": "2",
        "SHUTDOWN_TIMEOUT_SECONDS": "5",
    }
    if framework == "django":
        env["SECRET_KEY"] = SECRET_KEY
    return env


@pytest.fixture
def service(
    built: tuple[Path, str, str], postgres: Postgres, redis_server: Redis
) -> Iterator[Service]:
    project, language, framework = built
    svc = Service(
        project,
        language,
        container_command(project),
        service_env(postgres, redis_server, framework),
        free_port(),
    ).start()
    svc.wait_healthy()
    yield svc
    svc.stop()


def assert_no_secrets(text: str) -> None:
    leaked = [secret for secret in SECRETS if secret in text]
    assert not leaked, f"secret values leaked: {leaked}"


def assert_public_view(body: dict[str, object], checks: set[str]) -> None:
    """body is /health/detailed as a caller without the token sees it: statuses only."""
    assert set(body) == set(DETAILED["public_fields"]), body
    assert isinstance(body["checks"], dict) and set(body["checks"]) == checks, body
    for name, check in body["checks"].items():
        assert set(check) == set(DETAILED["public_check_fields"]), (name, check)
        assert check["status"] in {"ok", "error"}, (name, check)


def test_own_lint_typecheck_and_tests_pass(built: tuple[Path, str, str]) -> None:
    project, language, _ = built
    for step in ("lint", "typecheck", "test"):
        run_step(project, language, step)


def test_migrations_apply_once_and_rerun_cleanly(
    built: tuple[Path, str, str], postgres: Postgres, redis_server: Redis
) -> None:
    project, language, framework = built
    argv = native_argv(project, migrate_argv(framework))
    # The one-off migrate job is given the database and nothing else (issue 12).
    env = {"DATABASE_URL": postgres.url}
    for attempt in ("first", "second"):
        result = run_once(project, language, argv, env)
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"{attempt} migrate run failed:\n{output}"
        assert_no_secrets(output)
    table = "django_migrations" if framework == "django" else "schema_migrations"
    with psycopg.connect(postgres.url) as conn:
        count = conn.execute(f"select count(*) from {table}").fetchone()  # noqa: S608
    assert count is not None and count[0] >= 1, f"no migration recorded in {table}"


def test_endpoints_answer_the_contract(service: Service) -> None:
    live = get(service.base_url + PATHS["liveness"])
    assert (live.status, live.json()) == (200, {"status": "ok"})

    ready = get(service.base_url + PATHS["readiness"])
    assert ready.status == 200, ready.body
    assert ready.json()["status"] == "ok"

    # Without the token (none, wrong, or another scheme) each check's status only.
    for authorization in (None, "Bearer nope", f"Basic {HEALTH_TOKEN}", HEALTH_TOKEN):
        headers = {"Authorization": authorization} if authorization else None
        public = get(service.base_url + PATHS["detailed"], headers=headers)
        assert public.status == 200, (authorization, public.body)
        assert_public_view(public.json(), {"postgres", "redis"})
        assert public.json()["status"] == "ok"
    detailed = get(service.base_url + PATHS["detailed"], headers=AUTH)
    assert detailed.status == 200, detailed.body
    body = detailed.json()
    assert body["status"] == "ok"
    assert body["version"] == "1.2.3"
    assert isinstance(body["uptime"], int | float) and body["uptime"] >= 0
    datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00"))
    assert set(body["checks"]) == {"postgres", "redis"}
    for name, check in body["checks"].items():
        assert check["status"] == "ok", (name, check)
        assert isinstance(check["latency_ms"], int | float) and check["latency_ms"] >= 0
    assert_no_secrets(detailed.body)


def test_metrics_count_requests_by_route_and_status(service: Service) -> None:
    for _ in range(3):
        get(service.base_url + PATHS["liveness"])
    get(service.base_url + "/no-such-route")
    answer = get(service.base_url + PATHS["metrics"])
    assert answer.status == 200
    families = {family.name: family for family in text_string_to_metric_families(answer.body)}
    requests = families[METRICS["requests_total"].removesuffix("_total")]
    assert requests.type == "counter"
    health_hits = [
        sample.value
        for sample in requests.samples
        if sample.name.endswith("_total")
        and sample.labels.get("route") == PATHS["liveness"]
        and sample.labels.get("status") == "200"
        and sample.labels.get("method") == "GET"
    ]
    assert health_hits and health_hits[0] >= 3
    routes = {sample.labels.get("route") for sample in requests.samples}
    assert "/no-such-route" not in routes, "raw paths as labels explode cardinality"
    duration = families[METRICS["request_duration"]]
    assert duration.type == "histogram"
    assert any(sample.name.endswith("_bucket") for sample in duration.samples)
    assert METRICS["errors_total"].removesuffix("_total") in families


def test_metrics_label_unknown_methods_other_and_cover_the_process(service: Service) -> None:
    # Any token is a valid HTTP method: 300 random ones must not become 300 series.
    rng = random.Random(12)
    host, port = service.base_url.removeprefix("http://").split(":")
    for _ in range(300):
        method = "".join(rng.choices(string.ascii_uppercase, k=10))
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            connection.request(method, PATHS["liveness"])
            connection.getresponse().read()
        finally:
            connection.close()
    answer = get(service.base_url + PATHS["metrics"])
    families = {family.name: family for family in text_string_to_metric_families(answer.body)}
    allowed = {*CONTRACT["methods"], CONTRACT["other_method"]}
    for name in (METRICS["requests_total"].removesuffix("_total"), METRICS["request_duration"]):
        methods = {sample.labels["method"] for sample in families[name].samples}
        assert methods <= allowed, f"{name}: method label values {methods - allowed}"
    exported = {sample.name for family in families.values() for sample in family.samples}
    missing = set(CONTRACT["process_metrics"]) - exported
    assert not missing, f"process metrics missing from {PATHS['metrics']}: {missing}"


def test_stopped_dependencies_fail_readiness_fast(
    service: Service, postgres: Postgres, redis_server: Redis
) -> None:
    redis_server.stop()
    try:
        ready = get(service.base_url + PATHS["readiness"])
        assert ready.status == 503, ready.body
        assert ready.seconds < CHECK_TIMEOUT_S + 1
        detailed = get(service.base_url + PATHS["detailed"], headers=AUTH)
        assert detailed.status == 503
        checks = detailed.json()["checks"]
        assert detailed.json()["status"] == "degraded"
        assert checks["redis"]["status"] == "error" and checks["redis"]["message"]
        assert checks["postgres"]["status"] == "ok"
        assert get(service.base_url + PATHS["liveness"]).status == 200
        assert_no_secrets(detailed.body)
        # Nothing of the failure (driver text, host, port) reaches a caller without the token.
        public = get(service.base_url + PATHS["detailed"])
        assert public.status == 503
        assert_public_view(public.json(), {"postgres", "redis"})
        assert public.json()["checks"]["redis"] == {"status": "error"}
    finally:
        redis_server.start()

    postgres.stop()
    try:
        detailed = get(service.base_url + PATHS["detailed"], headers=AUTH)
        assert detailed.status == 503
        assert detailed.seconds < CHECK_TIMEOUT_S + 1
        assert detailed.json()["checks"]["postgres"]["status"] == "error"
        assert get(service.base_url + PATHS["liveness"]).status == 200
        assert_no_secrets(detailed.body)
    finally:
        postgres.start()
    wait_ready_again(service)
    assert_no_secrets(service.output())


def test_hung_dependencies_cost_one_timeout_not_the_sum(
    service: Service, postgres: Postgres, redis_server: Redis
) -> None:
    with postgres.frozen(), redis_server.frozen():
        detailed = get(service.base_url + PATHS["detailed"], headers=AUTH)
        live = get(service.base_url + PATHS["liveness"])
    assert detailed.status == 503, detailed.body
    # Concurrent checks: two hung servers cost one timeout, not two.
    assert detailed.seconds < CHECK_TIMEOUT_S + 1, f"took {detailed.seconds:.2f}s"
    assert {check["status"] for check in detailed.json()["checks"].values()} == {"error"}
    assert live.status == 200
    wait_ready_again(service)


def request_records(output: str) -> list[dict[str, object]]:
    """The JSON log lines of output that record a request (they carry a route)."""
    records = []
    for line in output.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "route" in record:
            records.append(record)
    return records


def test_requests_are_logged_as_json_without_secrets(service: Service) -> None:
    get(service.base_url + PATHS["detailed"] + "?token=query-secret", headers=AUTH)
    time.sleep(0.5)
    output = service.output()
    records = [r for r in request_records(output) if r["route"] == PATHS["detailed"]]
    assert records, f"no JSON request log for {PATHS['detailed']}:\n{output[-3000:]}"
    record = records[-1]
    assert record["method"] == "GET"
    assert record["status"] == 200
    assert isinstance(record["duration_ms"], int | float)
    assert {"time", "level", "msg"} <= set(record)
    assert "query-secret" not in output
    assert_no_secrets(output)


def test_probes_are_counted_but_not_logged_by_default(service: Service) -> None:
    for path in UNLOGGED:
        for _ in range(3):
            assert get(service.base_url + path).status == 200
    answer = get(service.base_url + PATHS["metrics"])
    time.sleep(0.5)
    logged = {record["route"] for record in request_records(service.output())}
    assert not logged & set(UNLOGGED), f"probes were access-logged: {logged}"
    counted = {
        sample.labels.get("route")
        for family in text_string_to_metric_families(answer.body)
        if family.name == METRICS["requests_total"].removesuffix("_total")
        for sample in family.samples
    }
    assert set(UNLOGGED) <= counted


def test_probes_are_logged_with_log_probes(
    built: tuple[Path, str, str], postgres: Postgres, redis_server: Redis
) -> None:
    project, language, framework = built
    env = service_env(postgres, redis_server, framework)
    env[CONTRACT["probes_unlogged"]["log_variable"]] = "true"
    svc = Service(project, language, container_command(project), env, free_port()).start()
    try:
        svc.wait_healthy()
        for path in UNLOGGED:
            get(svc.base_url + path)
        time.sleep(0.5)
        logged = {record["route"] for record in request_records(svc.output())}
    finally:
        svc.stop()
    assert set(UNLOGGED) <= logged, logged


def test_detailed_shows_no_details_when_no_token_is_configured(
    built: tuple[Path, str, str], postgres: Postgres, redis_server: Redis
) -> None:
    project, language, framework = built
    env = service_env(postgres, redis_server, framework)
    del env[DETAILED["token_variable"]]
    svc = Service(project, language, container_command(project), env, free_port()).start()
    try:
        svc.wait_healthy()
        for headers in (None, AUTH):
            answer = get(svc.base_url + PATHS["detailed"], headers=headers)
            assert answer.status == 200, answer.body
            assert_public_view(answer.json(), {"postgres", "redis"})
    finally:
        svc.stop()


def test_sigterm_drains_then_exits_cleanly(service: Service) -> None:
    assert service.proc is not None
    service.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    ready = get(service.base_url + PATHS["readiness"])
    assert ready.status == 503, "readiness must fail as soon as shutdown begins"
    assert ready.json()["status"] == "shutting_down"
    assert get(service.base_url + PATHS["liveness"]).status == 200
    # SHUTDOWN_DELAY_SECONDS (2) + SHUTDOWN_TIMEOUT_SECONDS (5) bound the exit.
    code = service.proc.wait(timeout=10)
    assert code == 0, service.output()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PORT", "http"),
        ("PORT", "70000"),
        ("DATABASE_URL", "not a url:secretvalue"),
        ("REDIS_URL", "http://:secretvalue@localhost:6379"),
        ("HEALTH_TOKEN", "short"),
        ("APP_ENV", "prod"),
        ("SECRET", None),
    ],
)
def test_bad_configuration_stops_before_listening(
    built: tuple[Path, str, str],
    postgres: Postgres,
    redis_server: Redis,
    variable: str,
    value: str | None,
) -> None:
    project, language, framework = built
    env = service_env(postgres, redis_server, framework)
    if variable == "SECRET":
        # The required secret of this stack: Django's SECRET_KEY, else DATABASE_URL.
        variable = "SECRET_KEY" if framework == "django" else "DATABASE_URL"
        env.pop(variable)
    else:
        assert value is not None
        env[variable] = value
    port = free_port()
    env.setdefault("PORT", str(port))
    result = run_once(project, language, container_command(project), env, timeout=30)
    output = result.stdout + result.stderr
    assert result.returncode != 0, f"started with bad {variable}:\n{output}"
    assert variable in output, f"error does not name {variable}:\n{output}"
    assert "Traceback" not in output and "panic:" not in output, output
    assert "secretvalue" not in output
    assert_no_secrets(output)


def wait_ready_again(service: Service, timeout: float = 15) -> None:
    """Dependencies are back: readiness must recover without a restart."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if get(service.base_url + PATHS["readiness"]).status == 200:
            return
        time.sleep(0.3)
    pytest.fail(f"readiness did not recover:\n{service.output()[-3000:]}")


def migrate_argv(framework: str) -> list[str]:
    """The container's migrate command, from includes/commands.yml."""
    return list(COMMANDS["migrate"][framework])
